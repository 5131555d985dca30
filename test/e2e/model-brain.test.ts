/**
 * Companions that think with a model file, no model server: the tiny GGUF
 * model the suite writes itself (test/helpers/tiny-gguf.ts), run by
 * llama.cpp in WebAssembly. A headless companion started with `--model`
 * converses with a built-in companion the relay runs: it answers when named,
 * one speaker per line, every line parses and answers the line before it.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { messageSend } from '../../protocol/build.ts'
import { openFirehose } from '../helpers/firehose-client.ts'
import type { FirehoseClient } from '../helpers/firehose-client.ts'
import { runHeadlessCommand, spawnHeadless } from '../helpers/headless-process.ts'
import type { HeadlessProcess } from '../helpers/headless-process.ts'
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
  let count = 0
  let quietAt = Date.now()
  await waitFor(() => {
    const now = lines(firehose, since).length
    if (now !== count) { count = now; quietAt = Date.now() }
    return Date.now() - quietAt > quietMs
  }, 'the conversation to end', 120_000)
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
    // The greetings are over before the question.
    let frames = -1
    let quietAt = Date.now()
    await waitFor(() => {
      if (firehose.frames.length !== frames) { frames = firehose.frames.length; quietAt = Date.now() }
      return Date.now() - quietAt > 3000
    }, 'the room to be quiet', 60_000)
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

  it('a missing file, a file that is not GGUF, and two brains at once each get a clear message', async () => {
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
      result = await run([...common, '--model', join(dir, 'notes.gguf'), '--llm-url', 'http://127.0.0.1:9/v1', '--llm-model', 'm'])
      assert.equal(result.code, 2)
      assert.match(result.text, /--model and --llm-url are two brains: choose one/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
