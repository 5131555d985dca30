/**
 * `npm run bench -- brain`: a model thinking with no model server, for the
 * tiny test model (written here, as the tests write it) and, when
 * KOTOBA_BENCH_MODEL names a GGUF file, for that one too:
 * - download and load time in a Chromium tab (the relay serves it with
 *   `--models`), and load time headless (`--model`, in this process);
 * - tokens per second in the tab and headless (the same five answers of up
 *   to 200 tokens under a line's JSON Schema), and the longest main-thread
 *   tasks the tab had while its model generated: those the engine started
 *   (it runs in a worker) and those of any kind;
 * - time from a person's line naming the companion to its reply, in the tab
 *   and headless, against the built-in brain in the same room (default turn
 *   settings: votes wait up to 3 s, a line takes at least 1.2 s);
 * - a shared endpoint: 2, 8 and 24 companions the relay runs, thinking
 *   through one model endpoint (a fake one answering in 1 s): model calls
 *   per line said to everyone, and the time to the first reply.
 * Prints figures; never fails on them.
 */
import { statSync } from 'node:fs'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import type { Page } from 'playwright-core'
import type { LocalModel, LocalRequest } from '../companion/local-model.ts'
import { loadModelFile } from '../headless/model-file.ts'
import { messageSend } from '../protocol/build.ts'
import { launchBrowser, openPanel } from '../test/helpers/browser.ts'
import { openFirehose, quietFor } from '../test/helpers/firehose-client.ts'
import type { FirehoseClient } from '../test/helpers/firehose-client.ts'
import { spawnHeadless } from '../test/helpers/headless-process.ts'
import { spawnRelay } from '../test/helpers/relay-process.ts'
import { startFakeLlm } from '../test/helpers/fake-llm.ts'
import { tinyGguf } from '../test/helpers/tiny-gguf.ts'
import { waitFor } from '../test/helpers/wait.ts'
import { now, stats } from './stats.ts'

const ANSWERS = 5
const REPLIES = 3
const REN = { id: 'companion_benchren', name: 'Benchren', personality: 'quick and cheerful', story: 'Runs the corner bakery.', sample: 'Fresh bread at six!' }

/** The request both engines answer: a line under a schema, up to 200 tokens. */
const REQUEST: LocalRequest = {
  name: 'line',
  messages: [
    { role: 'system', content: 'You are Aya, a cheerful companion in a group chat. Answer with one JSON object: {"text": your line, "emotion": one of happy, sad, neutral}.' },
    { role: 'user', content: 'Ren said: I baked bread with too much salt this morning. What do you say?' }
  ],
  jsonSchema: { type: 'object', properties: { text: { type: 'string', minLength: 1, maxLength: 400 }, emotion: { enum: ['happy', 'sad', 'neutral'] } }, required: ['text', 'emotion'], additionalProperties: false },
  maxTokens: 200,
  temperature: 0.8
}

interface Generation { tokens: number, ms: number }
const perSecond = (runs: Generation[]): number => runs.reduce((a, r) => a + r.tokens, 0) / (runs.reduce((a, r) => a + r.ms, 0) / 1000)

async function generateHeadless (model: LocalModel): Promise<Generation[]> {
  const runs: Generation[] = []
  for (let i = 0; i < ANSWERS; i++) {
    const answer = await model.answer(REQUEST, new AbortController().signal)
    runs.push({ tokens: answer.tokens, ms: answer.ms })
  }
  return runs
}

/**
 * The tab's model answers; also the longest main-thread tasks meanwhile (ms):
 * those the engine started (its worker's messages to the page; the companion
 * uses an answer in a task of its own), and those of any kind (the room's
 * conversation goes on meanwhile: network, rendering). Chromium reports
 * frames over 50 ms (long-animation-frame), each with the scripts it ran; 0
 * when there was none. `worst` says what the longest frame was made of.
 */
async function generateInTab (page: Page): Promise<{ runs: Generation[], engineTaskMs: number, anyTaskMs: number, worst: string }> {
  return await page.evaluate(async ({ request, count }) => {
    let engineTaskMs = 0
    let anyTaskMs = 0
    let worst = ''
    interface FrameScript { duration: number, invoker: string, sourceURL: string, sourceFunctionName: string, forcedStyleAndLayoutDuration: number }
    interface Frame extends PerformanceEntry { scripts: FrameScript[], renderStart: number }
    const observer = new PerformanceObserver(list => {
      for (const frame of list.getEntries() as Frame[]) {
        for (const script of frame.scripts) {
          if (script.invoker === 'Worker.onmessage' || /\/tab-model[^/]*\.js$/.test(script.sourceURL)) engineTaskMs = Math.max(engineTaskMs, script.duration)
        }
        if (frame.duration <= anyTaskMs) continue
        anyTaskMs = frame.duration
        // What the frame was made of: its longest scripts (with the layout they forced), then rendering.
        const where = (s: FrameScript): string => `${s.invoker}${s.sourceFunctionName === '' ? '' : ` ${s.sourceFunctionName}`} (${s.sourceURL.split('/').pop() ?? ''})`
        const scripts = [...frame.scripts].sort((a, b) => b.duration - a.duration).slice(0, 3)
          .map(s => `${Math.round(s.duration)} ms ${where(s)}${s.forcedStyleAndLayoutDuration >= 1 ? `, ${Math.round(s.forcedStyleAndLayoutDuration)} ms of it forced layout` : ''}`)
        const rendering = frame.renderStart === 0 ? 0 : frame.startTime + frame.duration - frame.renderStart
        worst = `${scripts.length === 0 ? 'no script' : scripts.join('; ')}; rendering ${Math.round(rendering)} ms`
      }
    })
    observer.observe({ type: 'long-animation-frame', buffered: false })
    const model = window.kotobaTestHooks!.tabModel()
    if (model === undefined) throw new Error('no model thinks in this tab')
    const runs: Array<{ tokens: number, ms: number }> = []
    for (let i = 0; i < count; i++) {
      const answer = await model.answer(request, new AbortController().signal)
      runs.push({ tokens: answer.tokens, ms: answer.ms })
    }
    await new Promise(resolve => setTimeout(resolve, 100))
    observer.disconnect()
    return { runs, engineTaskMs, anyTaskMs, worst }
  }, { request: REQUEST, count: ANSWERS })
}

/** Time from a person's line naming `card` to `card`'s answer to it, REPLIES times, each in a quiet room. */
async function replyTimes (firehose: FirehoseClient, card: { id: string, name: string }): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < REPLIES; i++) {
    await quietFor(firehose, 2500, 180_000)
    const hello = messageSend({ from: 'user_bench', to: [card.id], message: `${card.name}, what is on your mind today?` })
    const sent = now()
    firehose.send({ topic: 'messages', body: hello })
    await firehose.next(f => f?.params?.from === card.id && f.params.metadata?.replyTo === hello.params.id, `${card.name}'s answer`, 120_000)
    times.push(now() - sent)
  }
  return times
}

const ms = (value: number): string => `${Math.round(value)} ms`

async function benchModel (file: string, label: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kotoba-bench-brain-'))
  const name = basename(file)
  await mkdir(join(dir, 'models'))
  await symlink(resolve(file), join(dir, 'models', name))
  const relay = await spawnRelay({ dataDir: join(dir, 'relay'), args: ['--models', join(dir, 'models')] })
  const browser = await launchBrowser()
  const firehose = await openFirehose(relay.firehoseUrl)
  try {
    await waitFor(async () => (await (await fetch(new URL('/api/models', relay.httpUrl))).json() as { models: unknown[] }).models.length === 1, 'the relay to list the model', 300_000)

    // Headless, in this process.
    const loaded = await loadModelFile(file)
    const headlessRuns = await generateHeadless(loaded.model)
    await loaded.model.unload()

    // In a tab: Ren thinks with the built-in brain, Aya with the model.
    const ren = await browser.open(`${relay.httpUrl}?companion=ren&test-hooks`)
    const aya = await browser.open(`${relay.httpUrl}?companion=aya&test-hooks`)
    const renId = (await ren.getByTestId('companion-id').textContent({ timeout: 15_000 }))!
    const ayaId = (await aya.getByTestId('companion-id').textContent({ timeout: 15_000 }))!
    await openPanel(aya, 'brain-panel')
    await aya.getByTestId('brain-tab').check()
    await waitFor(async () => await aya.getByTestId('tab-model').count() === 1, 'the model list')
    await aya.getByTestId('tab-model').check()
    const clicked = now()
    await aya.getByTestId('brain-save').click()
    const phase = async (): Promise<string | null> => await aya.getByTestId('model-job').getAttribute('data-phase').catch(() => null)
    await waitFor(async () => ['ready', 'failed'].includes(await phase() ?? ''), 'the model to be ready', 600_000)
    const readyMs = now() - clicked
    const message = (await aya.getByTestId('model-message').textContent())!
    if (await phase() !== 'ready') throw new Error(message)
    const tabLoadMs = Number(/loaded in (\d+) ms/.exec(message)?.[1] ?? NaN)
    const threads = /on (\d+) threads?/.exec(message)?.[1] ?? '?'
    const tab = await generateInTab(aya)

    const tabReplies = await replyTimes(firehose, { id: ayaId, name: 'Aya' })
    const builtinReplies = await replyTimes(firehose, { id: renId, name: 'Ren' })
    await aya.close()
    await ren.close()

    // Headless, as a person starts it, beside a built-in tab companion.
    await writeFile(join(dir, 'ren.json'), JSON.stringify(REN))
    const headless = await spawnHeadless(['--card', join(dir, 'ren.json'), '--data-dir', join(dir, 'ren'), '--no-mdns', '--host', '127.0.0.1',
      '--bootstrap', `/ip4/127.0.0.1/tcp/${relay.tcpPort}/p2p/${relay.peerId}`, '--model', file])
    const headlessReplies = await replyTimes(firehose, REN).finally(async () => { await headless.kill() })

    const size = statSync(file).size
    const headlessTps = perSecond(headlessRuns)
    const tabTps = perSecond(tab.runs)
    const builtin = stats(builtinReplies).median
    console.log(`\nbrain: ${label} (${name}, ${(size / 1e6).toFixed(1)} MB)\n`)
    console.log(`  tab       download ${ms(readyMs - tabLoadMs)}   load ${ms(tabLoadMs)} (${threads} thread${threads === '1' ? '' : 's'})`)
    console.log(`  headless  load ${ms(loaded.loadMs)}`)
    console.log(`  tokens per second   tab ${tabTps.toFixed(1)}   headless ${headlessTps.toFixed(1)}   tab/headless ${(tabTps / headlessTps).toFixed(2)}x   (${ANSWERS} answers of up to ${REQUEST.maxTokens} tokens each)`)
    const longest = (value: number): string => value === 0 ? 'none over 50 ms' : ms(value)
    console.log(`  longest main-thread task in the tab while it generated: from the engine ${longest(tab.engineTaskMs)}; of any kind ${longest(tab.anyTaskMs)} (the room's conversation goes on)`)
    if (tab.worst !== '') console.log(`    that longest one: ${tab.worst}`)
    console.log(`  person's line -> reply (median of ${REPLIES})   tab ${ms(stats(tabReplies).median)} (${(stats(tabReplies).median / builtin).toFixed(2)}x)   headless ${ms(stats(headlessReplies).median)} (${(stats(headlessReplies).median / builtin).toFixed(2)}x)   built-in brain ${ms(builtin)} (1.00x, baseline)`)
  } finally {
    await firehose.close()
    await browser.close()
    await relay.kill()
    await rm(dir, { recursive: true, force: true })
  }
}

export async function benchBrain (): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kotoba-bench-tiny-'))
  try {
    const tiny = join(dir, 'tiny.gguf')
    await writeFile(tiny, tinyGguf(1).bytes)
    await benchModel(tiny, 'tiny test model')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  const real = process.env.KOTOBA_BENCH_MODEL
  if (real !== undefined && real !== '') await benchModel(real, 'KOTOBA_BENCH_MODEL')
  else console.log('\n  (set KOTOBA_BENCH_MODEL=/path/to/model.gguf to measure a real model too)')
  await benchSharedEndpoints()
}

/** Companions sharing one model endpoint, 2, 8 and 24 of them (`npm run bench -- shared` alone). */
export async function benchSharedEndpoints (): Promise<void> {
  console.log('\nbrain: companions sharing one model endpoint (the relay\'s --companion companions, a fake model answering in 1 s; a person\'s line to everyone, median of 3)\n')
  for (const n of [2, 8, 24]) {
    const { calls, replyMs } = await benchSharedEndpoint(n)
    console.log(`shared endpoint: ${n} companions, ${calls} model calls per line, reply ${Math.round(replyMs)} ms`)
  }
}

const SHARED_LINES = 3

/** `n` companions in the relay's process thinking through one endpoint: model calls per line, and the time to the first reply. */
async function benchSharedEndpoint (n: number): Promise<{ calls: number, replyMs: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'kotoba-bench-shared-'))
  const llm = await startFakeLlm({ delayMs: 1000 })
  const personalities = ['cheerful and curious', 'calm and thoughtful', 'witty and teasing', 'shy and poetic']
  const files = await Promise.all(Array.from({ length: n }, async (_, i) => {
    const file = join(dir, `shared${i}.json`)
    await writeFile(file, JSON.stringify({ id: `companion_shared${i}`, name: `Shared${i}`, personality: personalities[i % personalities.length], story: `Companion number ${i} of the bench.`, sample: 'Hello there!' }))
    return file
  }))
  const relay = await spawnRelay({ dataDir: join(dir, 'relay'), args: ['--llm-url', llm.baseUrl, '--llm-model', 'fake', '--turn-limit', '3', ...files.flatMap(f => ['--companion', f])] })
  const firehose = await openFirehose(relay.firehoseUrl)
  try {
    await waitFor(async () => {
      const info = await (await fetch(`${relay.httpUrl}api/relay`)).json() as { rooms: Array<{ companions: number }> }
      return info.rooms[0]?.companions === n
    }, `all ${n} companions in the room`, 180_000)
    const calls: number[] = []
    const replies: number[] = []
    for (let k = 0; k < SHARED_LINES; k++) {
      await quietFor(firehose, 3000, 300_000)
      const id = crypto.randomUUID()
      const since = firehose.frames.length
      const before = llm.requests.length
      const at = now()
      firehose.send({ topic: 'messages', body: messageSend({ id, from: 'user_bench', to: [], message: 'Hello everyone! What are you all up to today?', metadata: { name: 'Bench' } }) })
      await waitFor(() => firehose.frames.slice(since).some((f: any) => f?.method === 'message.send' && f.params?.metadata?.replyTo === id), 'a reply', 60_000)
      replies.push(now() - at)
      await quietFor(firehose, 3000, 300_000)
      // The requests about this line: its judgements, and the line written to answer it.
      calls.push(llm.requests.slice(before).filter(r => { const text = JSON.stringify(r.body); return text.includes(`The line to react to: [${id}]`) || text.includes(`Answer [${id}]`) }).length)
    }
    return { calls: stats(calls).median, replyMs: stats(replies).median }
  } finally {
    await firehose.close()
    await relay.kill()
    await llm.close()
    await rm(dir, { recursive: true, force: true })
  }
}
