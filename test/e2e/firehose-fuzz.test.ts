/**
 * Fuzzing /firehose: several clients throw 20,000 random and malformed frames
 * (fast-check) at a relay process, while a well-behaved client publishes and
 * another reads. Every good message arrives once and in order, every good
 * publish is acknowledged, the relay stays up and its memory stays bounded.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import WebSocket from 'ws'
import { messageSend } from '../../protocol/build.ts'
import { TOPICS } from '../../protocol/topics.ts'
import { openFirehose } from '../helpers/firehose-client.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { spawnRelay } from '../helpers/relay-process.ts'
import type { RelayProcess } from '../helpers/relay-process.ts'
import { waitFor } from '../helpers/wait.ts'

const skip = networkSkipReason()
const FUZZERS = 4
const FRAMES_EACH = 5000
const GOOD = 30

/** Frames from plain garbage to nearly-right, of both dialects. */
const frame = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.json(),
  fc.jsonValue().map(v => JSON.stringify(v)),
  fc.record({ topic: fc.oneof(fc.constantFrom(...TOPICS), fc.string()), body: fc.jsonValue() }).map(f => JSON.stringify(f)),
  fc.record({
    type: fc.constantFrom('hello', 'subscribe', 'publish', 'replay', 'ping', 'teleport'),
    version: fc.oneof(fc.constant(1), fc.integer()),
    since: fc.oneof(fc.integer(), fc.string(), fc.double()),
    topics: fc.array(fc.oneof(fc.constantFrom(...TOPICS), fc.string()), { maxLength: 8 }),
    from: fc.array(fc.string(), { maxLength: 4 }),
    id: fc.string(),
    topic: fc.constantFrom(...TOPICS),
    body: fc.jsonValue()
  }, { requiredKeys: ['type'] }).map(f => JSON.stringify(f)),
  fc.record({
    topic: fc.constant('messages'),
    body: fc.record({ jsonrpc: fc.constant('2.0'), method: fc.constant('message.send'), params: fc.record({ id: fc.uuid(), from: fc.string(), to: fc.array(fc.string()), message: fc.string() }, { requiredKeys: [] }) })
  }).map(f => JSON.stringify(f)),
  fc.uint8Array({ maxLength: 256 })
)

describe('firehose under fuzzing', { skip }, () => {
  let dataDir: string
  let relay: RelayProcess
  const health = async (): Promise<{ status: string, memory: { rssBytes: number } }> =>
    await (await fetch(`${relay.httpUrl}healthz`)).json() as { status: string, memory: { rssBytes: number } }

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kotoba-fuzz-'))
    relay = await spawnRelay({ dataDir })
  })
  after(async () => {
    await relay?.kill()
    await rm(dataDir, { recursive: true, force: true })
  })

  it(`${FUZZERS * FRAMES_EACH} random frames do not stop a well-behaved client, and memory stays bounded`, async () => {
    const before = (await health()).memory.rssBytes
    const reader = await openFirehose(`${relay.firehoseUrl}?v=1`)
    reader.send({ type: 'subscribe', from: ['user_good'] })
    await reader.next(f => f.type === 'subscribed', 'the subscription')
    const writer = await openFirehose(`${relay.firehoseUrl}?v=1`)

    let closedByRelay = 0
    const fuzz = async (seed: number): Promise<void> => {
      const frames = fc.sample(frame, { numRuns: FRAMES_EACH, seed })
      let ws: WebSocket | undefined
      for (const [i, f] of frames.entries()) {
        if (ws === undefined || ws.readyState !== WebSocket.OPEN) {
          ws = new WebSocket(relay.firehoseUrl + (i % 2 === 0 ? '?v=1' : ''))
          ws.on('error', () => {})
          ws.on('close', (code) => { if (code === 1009) closedByRelay++ })
          await once(ws, 'open')
        }
        ws.send(f, { binary: typeof f !== 'string' })
        // Now and then a frame over the size limit: the relay must close that connection (1009).
        if (i % 1000 === 999) {
          const closed = once(ws, 'close')
          ws.send('x'.repeat(70 * 1024))
          await closed
        }
        if (i % 200 === 0) await new Promise(resolve => setImmediate(resolve))
      }
      ws?.close()
    }

    const good = (async () => {
      for (let i = 0; i < GOOD; i++) {
        writer.send({ type: 'publish', id: `good-${i}`, topic: 'messages', body: messageSend({ from: 'user_good', to: [], message: `good ${i}` }) })
        await new Promise(resolve => setTimeout(resolve, 60))
      }
    })()
    await Promise.all([good, ...Array.from({ length: FUZZERS }, async (_, i) => { await fuzz(1000 + i) })])

    await waitFor(() => reader.frames.filter((f: any) => f.type === 'event').length >= GOOD, 'every good message at the reader', 30_000)
    const received = reader.frames.filter((f: any) => f.type === 'event').map((f: any) => f.payload.params.message)
    assert.deepEqual(received, Array.from({ length: GOOD }, (_, i) => `good ${i}`), 'each once, in order')
    await waitFor(() => writer.frames.filter((f: any) => f.type === 'ack').length === GOOD, 'every good publish acknowledged')
    assert.equal(writer.frames.filter((f: any) => f.type === 'error').length, 0)
    assert.equal(closedByRelay, FUZZERS * FRAMES_EACH / 1000, 'each oversize frame closed its connection with 1009')

    const after = await health()
    assert.equal(after.status, 'ok')
    const grown = (after.memory.rssBytes - before) / 1024 / 1024
    assert.ok(grown < 150, `the relay grew by ${grown.toFixed(0)} MB`)
    await reader.close()
    await writer.close()
  })
})
