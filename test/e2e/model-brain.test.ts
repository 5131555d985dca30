/**
 * Companions that think with a model file, no model server: the tiny GGUF
 * model the suite writes itself (test/helpers/tiny-gguf.ts), run by
 * llama.cpp in WebAssembly.
 * - In real Chromium against a real relay (`--models DIR`): the model is
 *   listed, downloaded with progress, checked, kept, and found again after
 *   a reload and in another tab without a second request; the in-tab
 *   companion converses with a built-in tab; each failure (404, not GGUF,
 *   sha256 mismatch, no memory, no storage, cancel) says so and the brain
 *   before stays.
 * - A headless companion started with `--model` converses with a built-in
 *   companion the relay runs.
 * Either way: it answers when named, one speaker per line, every line parses
 * and answers the line before it.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { messageSend } from '../../protocol/build.ts'
import { launchBrowser, openPanel } from '../helpers/browser.ts'
import type { Browser } from '../helpers/browser.ts'
import { openFirehose, quietFor } from '../helpers/firehose-client.ts'
import type { FirehoseClient } from '../helpers/firehose-client.ts'
import { runHeadlessCommand, spawnHeadless } from '../helpers/headless-process.ts'
import type { HeadlessProcess } from '../helpers/headless-process.ts'
import { createLan, lanSkipReason } from '../helpers/lan.ts'
import type { Lan } from '../helpers/lan.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { spawnRelay } from '../helpers/relay-process.ts'
import type { RelayProcess } from '../helpers/relay-process.ts'
import { tinyGguf } from '../helpers/tiny-gguf.ts'
import { waitFor } from '../helpers/wait.ts'

const KYOKO = { id: 'companion_kyoko', name: 'Kyoko', personality: 'calm and thoughtful; speaks carefully', story: 'A librarian who reads three books at once.', sample: 'That reminds me of something I read last winter.' }
const REN = { id: 'companion_ren', name: 'Ren', personality: 'quick and cheerful', story: 'Runs the corner bakery.', sample: 'Fresh bread at six!' }

interface Line { id: string, from: string, to: string[], message: string, metadata?: { replyTo?: string } }
const lines = (client: FirehoseClient, since: number): Line[] =>
  client.frames.slice(since).filter((f: any) => f?.method === 'message.send').map((f: any) => f.params as Line)

/**
 * A person names `card` in a quiet room; the conversation runs until nobody
 * has spoken for `quietMs`. Returns the person's line and what followed.
 */
async function askAndListen (firehose: FirehoseClient, card: { id: string, name: string }, text: string, quietMs: number): Promise<Line[]> {
  const hello = messageSend({ from: 'user_reader', to: [card.id], message: text })
  const since = firehose.frames.length
  firehose.send({ topic: 'messages', body: hello })
  await firehose.next(f => f?.params?.from === card.id && f.params.metadata?.replyTo === hello.params.id, `${card.name}'s answer`, 30_000)
  await quietFor(firehose, quietMs, 120_000)
  return [hello.params as Line, ...lines(firehose, since)]
}

function assertOneSpeakerPerLine (said: Line[], speakers: string[]): void {
  const story = said.map(l => `${l.id.slice(0, 8)} ${l.from}${l.metadata?.replyTo === undefined ? '' : ` (answers ${l.metadata.replyTo.slice(0, 8)})`}: ${l.message.slice(0, 60)}`).join('\n')
  for (let i = 1; i < said.length; i++) {
    assert.ok(speakers.includes(said[i].from), `only companions speak after the question:\n${story}`)
    assert.equal(said[i].metadata?.replyTo, said[i - 1].id, `each line answers the line right before it:\n${story}`)
    assert.ok(said[i].message.trim() !== '', `every line has words:\n${story}`)
  }
}

describe('a companion that thinks in the tab', { skip: networkSkipReason({ browser: true }) }, () => {
  let dir: string
  let relay: RelayProcess
  let browser: Browser
  let aya: Page
  let ren: Page
  let ayaId: string
  let firehose: FirehoseClient
  const tiny = tinyGguf(1)
  /** Requests for model files, per page. */
  const modelRequests = new Map<Page, string[]>()
  const watchModelRequests = (page: Page): void => {
    modelRequests.set(page, [])
    page.on('request', request => { if (request.url().includes('/models/')) modelRequests.get(page)!.push(request.url()) })
  }
  const job = (page: Page): ReturnType<Page['getByTestId']> => page.getByTestId('model-job')
  const phase = async (page: Page): Promise<string | null> => await job(page).getAttribute('data-phase').catch(() => null)
  const brainNow = async (page: Page): Promise<string | null> => await page.getByTestId('brain-current').textContent()
  /** Chooses "In this tab" with the listed model `name` (or a URL) and clicks "Use this brain". */
  const choose = async (page: Page, model: { name: string } | { url: string }): Promise<void> => {
    await openPanel(page, 'brain-panel')
    await page.getByTestId('brain-tab').check()
    await waitFor(async () => await page.getByTestId('tab-model-url-choice').count() === 1, 'the model list')
    if ('name' in model) await page.locator(`[data-testid="tab-model"][value="${model.name}"]`).check()
    else {
      await page.getByTestId('tab-model-url-choice').check()
      await page.getByTestId('tab-model-url').fill(model.url)
    }
    await page.getByTestId('brain-save').click()
  }
  /** Chooses, waits for the outcome, and returns its message. */
  const chooseAndWait = async (page: Page, model: { name: string } | { url: string }, outcome: 'ready' | 'failed' | 'cancelled'): Promise<string> => {
    await choose(page, model)
    await waitFor(async () => ['ready', 'failed', 'cancelled'].includes(await phase(page) ?? ''), 'the model to be ready or to fail', 60_000)
    const message = (await page.getByTestId('model-message').textContent())!
    assert.equal(await phase(page), outcome, message)
    return message
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kotoba-tab-model-'))
    await mkdir(join(dir, 'models'))
    await writeFile(join(dir, 'models', 'tiny.gguf'), tiny.bytes)
    await writeFile(join(dir, 'models', 'other.gguf'), tinyGguf(2).bytes)
    // GGUF by its first bytes, and nothing after them.
    await writeFile(join(dir, 'models', 'broken.gguf'), Buffer.concat([Buffer.from('GGUF'), Buffer.alloc(60, 7)]))
    relay = await spawnRelay({ dataDir: join(dir, 'relay'), args: ['--models', join(dir, 'models')] })
    await waitFor(async () => (await (await fetch(new URL('/api/models', relay.httpUrl))).json() as { models: unknown[] }).models.length === 3, 'the relay to list its models')
    browser = await launchBrowser()
    // Ren first, while this browser has no choice saved: the built-in brain.
    ren = await browser.open(`${relay.httpUrl}?companion=ren&turn-limit=4&pace=100&vote-window=1500`)
    aya = await browser.open(`${relay.httpUrl}?companion=aya&turn-limit=4&pace=100&vote-window=1500`)
    watchModelRequests(aya)
    ayaId = (await aya.getByTestId('companion-id').textContent({ timeout: 15_000 }))!
    await waitFor(async () => await aya.getByTestId('present-companion').count() === 1, 'the tabs to see each other', 20_000)
    firehose = await openFirehose(relay.firehoseUrl)
  })

  after(async () => {
    await firehose?.close()
    await browser?.close()
    await relay?.kill()
    await rm(dir, { recursive: true, force: true })
  })

  it('lists the relay\'s models; the chosen one downloads with progress, is checked, kept, and thinks', async () => {
    // Every state the progress passes through, as the page shows it.
    await openPanel(aya, 'brain-panel')
    await aya.evaluate(() => {
      const seen: string[] = []
      ;(window as unknown as { modelJobSeen: string[] }).modelJobSeen = seen
      new MutationObserver(() => {
        const el = document.querySelector('[data-testid="model-job"]')
        const text = document.querySelector('[data-testid="model-progress-text"]')?.textContent ?? ''
        if (el !== null) seen.push(`${el.getAttribute('data-phase')} ${el.getAttribute('data-loaded')}/${el.getAttribute('data-total')} ${text}`)
      }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true })
    })
    await aya.getByTestId('brain-tab').check()
    await waitFor(async () => await aya.getByTestId('tab-model').count() === 3, 'the models listed')
    assert.deepEqual(await aya.getByTestId('tab-model').evaluateAll(els => els.map(el => el.parentElement!.textContent!.trim())), ['broken.gguf (0.0 MB)', 'other.gguf (0.5 MB)', 'tiny.gguf (0.5 MB)'])
    // A browser that has run no model in the tab gets its page not cross-origin isolated (that
    // costs a new tab a process of its own): the engine runs on one thread, and the page says
    // a reload runs it on several (it asked the relay for threads: the cookie).
    assert.equal(await aya.evaluate(() => crossOriginIsolated), false)
    const message = await chooseAndWait(aya, { name: 'tiny.gguf' }, 'ready')
    assert.match(message, /^tiny\.gguf: downloaded \(0\.5 MB\), sha256 checked, loaded in \d+ ms on 1 thread; reload the page to run it on several threads$/)
    assert.match(await aya.evaluate(() => document.cookie), /(^|; )kotoba-threads=1(;|$)/)
    assert.equal(await brainNow(aya), 'model tiny.gguf, in this tab')
    assert.equal(modelRequests.get(aya)!.filter(url => url.endsWith('/models/tiny.gguf')).length, 1)
    const seen = await aya.evaluate(() => (window as unknown as { modelJobSeen: string[] }).modelJobSeen)
    const downloading = seen.filter(s => s.startsWith('downloading '))
    assert.ok(downloading.some(s => s.includes(`/${tiny.bytes.length} `) && /of 0\.5 MB \(\d+%\)/.test(s)), `bytes and percent shown while downloading:\n${seen.join('\n')}`)
    assert.ok(seen.some(s => s.startsWith('loading ')), `then loading:\n${seen.join('\n')}`)
  })

  it('converses with a built-in tab: one speaker per line, every line parses', async () => {
    await quietFor(firehose, 3000)
    const said = await askAndListen(firehose, { id: ayaId, name: 'Aya' }, 'Aya, what would you like to talk about?', 4000)
    const renId = (await ren.getByTestId('companion-id').textContent())!
    assertOneSpeakerPerLine(said, [ayaId, renId])
    assert.ok(said.filter(l => l.from === ayaId).every(l => l.message.length <= 400))
    assert.equal(await aya.getByTestId('brain-error').count(), 0)
    assert.deepEqual(browser.consoleErrors, [])
  })

  it('a reload, and another tab of this browser, use the stored copy: no second download; the reloaded page runs it on threads', async () => {
    modelRequests.get(aya)!.length = 0
    // Reloaded, the page is cross-origin isolated (this browser asked for threads): the engine
    // runs on half the cores it is told of (this machine has two, so it is told of four).
    await aya.addInitScript(() => { Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { get: () => 4, configurable: true }) })
    await aya.reload()
    assert.equal(await aya.evaluate(() => crossOriginIsolated), true)
    await openPanel(aya, 'brain-panel')
    await waitFor(async () => await phase(aya) === 'ready', 'the stored model to load', 30_000)
    assert.match((await aya.getByTestId('model-message').textContent())!, /^tiny\.gguf: found in this browser's storage, loaded in \d+ ms on 2 threads$/)
    assert.equal(await brainNow(aya), 'model tiny.gguf, in this tab')
    const third = await browser.open(`${relay.httpUrl}?companion=kyoko`)
    watchModelRequests(third)
    await openPanel(third, 'brain-panel')
    await waitFor(async () => await phase(third) === 'ready', 'the stored model to load in another tab', 30_000)
    // The other tab thinks with the engine this tab loaded: no second load, and no file read.
    assert.match((await third.getByTestId('model-message').textContent())!, /^tiny\.gguf: thinking with the engine another tab of this browser loaded \(in \d+ ms on \d threads?\)$/)
    assert.equal(await job(third).getAttribute('data-engine'), 'other-tab')
    assert.equal(await job(aya).getAttribute('data-engine'), 'here')
    await third.close()
    assert.deepEqual(modelRequests.get(aya), [], 'the reload fetched no model')
    assert.deepEqual(modelRequests.get(third), [], 'the other tab fetched no model')
  })

  it('a browser without WebAssembly JSPI gets the compatibility build, served by the relay too', async () => {
    const page = await browser.context.newPage()
    /** Sizes of the WebAssembly files it fetched. */
    const wasm: number[] = []
    page.on('response', response => { if (response.url().endsWith('.wasm')) wasm.push(Number(response.headers()['content-length'])) })
    await page.addInitScript(() => { delete (WebAssembly as { Suspending?: unknown }).Suspending })
    await page.goto(`${relay.httpUrl}?companion=kyoko`)
    await openPanel(page, 'brain-panel')
    // The choice saved in this browser: the stored copy, on the other build.
    await waitFor(async () => await phase(page) === 'ready', 'the stored model to load', 60_000)
    assert.match((await page.getByTestId('model-message').textContent())!, /^tiny\.gguf: found in this browser's storage, loaded in \d+ ms on \d threads? \(compatibility build: slower\)$/)
    // The compatibility build's WebAssembly (16 MB; the main build's is 8.7 MB), from the relay.
    assert.deepEqual(wasm.map(size => Math.round(size / 1e6)), [16])
    await page.close()
  })

  it('each failure says what went wrong, and the brain before stays', async () => {
    const still = /; still thinking with the model tiny\.gguf, in this tab$/
    let message = await chooseAndWait(aya, { url: new URL('/models/missing.gguf', relay.httpUrl).toString() }, 'failed')
    assert.match(message, /^missing\.gguf is not there: \S+ answered HTTP 404/)
    assert.match(message, still)
    message = await chooseAndWait(aya, { url: new URL('/index.html', relay.httpUrl).toString() }, 'failed')
    assert.match(message, /^index\.html is not a GGUF model file/)
    // Downloaded and checked, but the engine cannot read it.
    message = await chooseAndWait(aya, { name: 'broken.gguf' }, 'failed')
    assert.match(message, /^could not load broken\.gguf: /)
    assert.match(message, still)
    // The file changed on the relay after it was listed: what arrives is not what was listed.
    await writeFile(join(dir, 'models', 'other.gguf'), tinyGguf(4).bytes)
    message = await chooseAndWait(aya, { name: 'other.gguf' }, 'failed')
    assert.match(message, /^other\.gguf does not match its sha256 \(expected [0-9a-f]{12}…, got [0-9a-f]{12}…\): the file is corrupt or was changed, and was not kept/)
    assert.match(message, still)
    // A device with little memory, then a browser with little storage.
    await aya.evaluate(() => { Object.defineProperty(Navigator.prototype, 'deviceMemory', { get: () => 0.05, configurable: true }) })
    message = await chooseAndWait(aya, { name: 'other.gguf' }, 'failed')
    assert.match(message, /^not enough memory for other\.gguf: it needs about \d+ MB and this device has 0\.05 GB; choose a smaller model/)
    await aya.evaluate(() => {
      Object.defineProperty(Navigator.prototype, 'deviceMemory', { get: () => 8, configurable: true })
      navigator.storage.estimate = async () => ({ quota: 100_000, usage: 40_000 })
    })
    message = await chooseAndWait(aya, { name: 'other.gguf' }, 'failed')
    assert.match(message, /^not enough storage in this browser for other\.gguf: it needs 0\.5 MB and 0\.1 MB are free/)
    assert.match(message, still)
    assert.equal(await brainNow(aya), 'model tiny.gguf, in this tab')
  })

  it('a download can be cancelled; the brain before stays', async () => {
    await aya.evaluate(() => { delete (navigator.storage as { estimate?: unknown }).estimate })
    // A server that announces the file and then sends nothing: the download
    // stays open until cancelled. (Not page.route: intercepting requests
    // waits on every worker of the page, and the engine's threads may not
    // answer; see the Playwright issue on unrouteAll hanging.)
    const held: ServerResponse[] = []
    const stalling = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '500000', 'access-control-allow-origin': '*' })
      response.flushHeaders()
      held.push(response)
    })
    await new Promise<void>(resolve => stalling.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = stalling.address() as AddressInfo
      await choose(aya, { url: `http://127.0.0.1:${port}/other.gguf` })
      await waitFor(async () => await phase(aya) === 'downloading' && held.length === 1, 'the download to start')
      assert.match((await aya.getByTestId('model-progress-text').textContent())!, /^0\.0 MB of 0\.5 MB \(0%\)$/)
      await aya.getByTestId('model-cancel').click()
      await waitFor(async () => await phase(aya) === 'cancelled', 'the download to stop')
      assert.match((await aya.getByTestId('model-message').textContent())!, /^the download of other\.gguf was cancelled; still thinking with the model tiny\.gguf, in this tab$/)
      assert.equal(await brainNow(aya), 'model tiny.gguf, in this tab')
    } finally {
      stalling.closeAllConnections()
      await new Promise(resolve => stalling.close(resolve))
    }
  })

  it('tabs of one browser share one engine; when its tab closes another takes it over and every companion keeps thinking', async () => {
    const others = await Promise.all(['kyoko', 'mio'].map(async name => await browser.open(`${relay.httpUrl}?companion=${name}&turn-limit=2&pace=100&vote-window=1500&test-hooks`)))
    for (const tab of others) {
      await openPanel(tab, 'brain-panel')
      await waitFor(async () => await phase(tab) === 'ready', 'the shared engine to be ready', 30_000)
      assert.equal(await job(tab).getAttribute('data-engine'), 'other-tab')
      assert.equal(await tab.evaluate(async () => await window.kotobaTestHooks!.enginesLoaded()), 0)
    }
    const [kyokoId, mioId] = await Promise.all(others.map(async tab => (await tab.getByTestId('companion-id').textContent())!))
    // A question in flight when the tab holding the engine closes is asked again of the next.
    await quietFor(firehose, 2000)
    const question = messageSend({ from: 'user_reader', to: [kyokoId], message: 'Kyoko, what are you reading?' })
    firehose.send({ topic: 'messages', body: question })
    const closedAt = Date.now()
    await aya.close()
    const holder = await waitFor(async () => {
      for (const tab of others) if (await job(tab).getAttribute('data-engine') === 'here') return tab
      return undefined
    }, 'another tab to take the engine over', 20_000)
    console.log(`# engine taken over ${Date.now() - closedAt} ms after its tab closed`)
    assert.match((await holder.getByTestId('model-message').textContent())!, /^tiny\.gguf: this tab took the engine over from a tab that closed; loaded in \d+ ms/)
    assert.deepEqual(await Promise.all(others.map(async tab => await tab.evaluate(async () => await window.kotobaTestHooks!.enginesLoaded()))).then(n => n.sort()), [0, 1])
    await firehose.next(f => f?.params?.from === kyokoId && f.params.metadata?.replyTo === question.params.id, 'Kyoko\'s answer', 60_000)
    await quietFor(firehose, 3000, 120_000)
    const said = await askAndListen(firehose, { id: mioId, name: 'Mio' }, 'Mio, what did you write today?', 3000)
    assert.ok(said.some(l => l.from === mioId), 'Mio answered')
    for (const tab of others) assert.equal(await tab.getByTestId('brain-error').count(), 0)
    assert.equal(await brainNow(others[0]), 'model tiny.gguf, in this tab')
  })
})

describe('a companion that thinks in a tab of a LAN page (plain http)', { skip: networkSkipReason({ browser: true }) || lanSkipReason() }, () => {
  let lan: Lan
  let dir: string
  let relay: RelayProcess
  let browser: Browser

  before(async () => {
    lan = createLan()
    dir = await mkdtemp(join(tmpdir(), 'kotoba-lan-model-'))
    await mkdir(join(dir, 'models'))
    await writeFile(join(dir, 'models', 'tiny.gguf'), tinyGguf(1).bytes)
    relay = await spawnRelay({ dataDir: join(dir, 'relay'), lanHost: lan.addHost('relay'), args: ['--models', join(dir, 'models')] })
    browser = await launchBrowser()
  })

  after(async () => {
    await browser?.close()
    await relay?.kill()
    lan?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('is neither isolated nor a secure context, keeps the model in IndexedDB, and finds it after a reload', async () => {
    assert.match(relay.httpUrl, /^http:\/\/10\./)
    const tab = await browser.open(`${relay.httpUrl}?companion=aya`)
    const requests: string[] = []
    tab.on('request', request => { if (request.url().includes('/models/')) requests.push(request.url()) })
    await tab.getByTestId('companion-id').textContent({ timeout: 15_000 })
    assert.deepEqual(await tab.evaluate(() => [crossOriginIsolated, isSecureContext, typeof caches]), [false, false, 'undefined'])
    await openPanel(tab, 'brain-panel')
    await tab.getByTestId('brain-tab').check()
    await waitFor(async () => await tab.getByTestId('tab-model').count() === 1, 'the model listed')
    await tab.getByTestId('brain-save').click()
    await waitFor(async () => ['ready', 'failed'].includes(await tab.getByTestId('model-job').getAttribute('data-phase') ?? ''), 'the model to be ready', 60_000)
    assert.match((await tab.getByTestId('model-message').textContent())!, /^tiny\.gguf: downloaded \(0\.5 MB\), sha256 checked, loaded in \d+ ms on 1 thread$/)
    assert.deepEqual(await tab.evaluate(async () => await new Promise(resolve => {
      const open = indexedDB.open('kotoba-models-v1')
      open.onsuccess = () => { const keys = open.result.transaction('copies').objectStore('copies').getAllKeys(); keys.onsuccess = () => { resolve(keys.result) } }
    })), [tinyGguf(1).sha256])
    assert.equal(requests.length, 1)
    await tab.reload()
    await openPanel(tab, 'brain-panel')
    await waitFor(async () => await tab.getByTestId('model-job').getAttribute('data-phase').catch(() => null) === 'ready', 'the stored model to load', 30_000)
    assert.match((await tab.getByTestId('model-message').textContent())!, /^tiny\.gguf: found in this browser's storage/)
    assert.equal(requests.length, 1, 'no second download')
    assert.equal(await tab.getByTestId('brain-current').textContent(), 'model tiny.gguf, in this tab')
  })
})

describe('a headless companion thinking with a model file (--model)', { skip: networkSkipReason() }, () => {
  let dir: string
  let relay: RelayProcess
  let headless: HeadlessProcess
  let firehose: FirehoseClient

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kotoba-model-'))
    await writeFile(join(dir, 'tiny.gguf'), tinyGguf(1).bytes)
    await writeFile(join(dir, 'kyoko.json'), JSON.stringify(KYOKO))
    await writeFile(join(dir, 'ren.json'), JSON.stringify(REN))
    relay = await spawnRelay({ dataDir: join(dir, 'relay'), args: ['--companion', join(dir, 'kyoko.json'), '--turn-limit', '5'] })
    headless = await spawnHeadless(['--card', join(dir, 'ren.json'), '--data-dir', join(dir, 'ren'), '--no-mdns', '--host', '127.0.0.1',
      '--bootstrap', `/ip4/127.0.0.1/tcp/${relay.tcpPort}/p2p/${relay.peerId}`, '--model', join(dir, 'tiny.gguf'), '--turn-limit', '5'])
    firehose = await openFirehose(relay.firehoseUrl)
  })

  after(async () => {
    await firehose?.close()
    await headless?.kill()
    await relay?.kill()
    await rm(dir, { recursive: true, force: true })
  })

  it('loads the model before it joins, and says which brain it has', () => {
    assert.match(headless.output(), /! brain: tiny\.gguf \(0\.\d MiB\) loaded in \d+ ms/)
    assert.match(headless.output(), /brain\s+\S+tiny\.gguf, in this process/)
  })

  it('converses with a built-in companion: one speaker per line, every line parses', async () => {
    await waitFor(() => /\+ Kyoko \(companion_kyoko\) is here/.test(headless.output()), 'Ren to hold Kyoko\'s card', 20_000)
    await quietFor(firehose, 3000)
    const said = await askAndListen(firehose, REN, 'Ren, what are you baking today?', 4000)
    assertOneSpeakerPerLine(said, [REN.id, KYOKO.id])
    const rens = said.filter(l => l.from === REN.id)
    assert.ok(rens.length >= 1, 'Ren spoke')
    for (const line of rens) assert.ok(line.message.length <= 400, `a line of talk, not an essay: ${line.message.length} characters`)
    assert.doesNotMatch(headless.output(), /! brain:.*(failed|does not fit|did not answer)/)
  })
})

describe('the headless companion refuses a model file it cannot use', () => {
  const run = runHeadlessCommand

  it('a missing file, a file that is not GGUF, a damaged one, and two brains at once each get a clear message', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kotoba-model-bad-'))
    try {
      await writeFile(join(dir, 'ren.json'), JSON.stringify(REN))
      await writeFile(join(dir, 'notes.gguf'), 'these are not weights')
      const common = ['--card', join(dir, 'ren.json'), '--data-dir', join(dir, 'ren'), '--no-mdns', '--host', '127.0.0.1']
      let result = await run([...common, '--model', join(dir, 'missing.gguf')])
      assert.equal(result.code, 1)
      assert.match(result.text, /--model \S+missing\.gguf cannot be read \(ENOENT\)/)
      assert.doesNotMatch(result.text, /\n\s+at /, 'no stack trace')
      result = await run([...common, '--model', join(dir, 'notes.gguf')])
      assert.equal(result.code, 1)
      assert.match(result.text, /is not a GGUF model file/)
      await writeFile(join(dir, 'broken.gguf'), Buffer.concat([Buffer.from('GGUF'), Buffer.alloc(60, 7)]))
      result = await run([...common, '--model', join(dir, 'broken.gguf')])
      assert.equal(result.code, 1)
      assert.match(result.text, /--model \S+broken\.gguf could not be loaded: llama\.cpp could not read a model from it/)
      result = await run([...common, '--model', join(dir, 'notes.gguf'), '--llm-url', 'http://127.0.0.1:9/v1', '--llm-model', 'm'])
      assert.equal(result.code, 2)
      assert.match(result.text, /--model and --llm-url are two brains: choose one/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
