/**
 * The firehose's v1 protocol with real WebSocket clients against a real
 * (in-process) relay: envelopes, live subscriptions, acknowledgements and
 * error codes, replay without gaps or duplicates, JSON ping, limits and
 * access control, the information document. v0 (aikyo's) stays the default.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
import { messageSend } from '../../protocol/build.ts'
import { resolveOptions } from '../../relay/options.ts'
import type { RelayOptions } from '../../relay/options.ts'
import { startRelay } from '../../relay/relay.ts'
import type { RelayHandle } from '../../relay/relay.ts'
import { openFirehose } from '../helpers/firehose-client.ts'
import type { FirehoseClient } from '../helpers/firehose-client.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { waitFor } from '../helpers/wait.ts'
import { SILENT } from '../../p2p/logger.ts'

const skip = networkSkipReason()
const line = (from: string, to: string[], message: string) => messageSend({ from, to, message })

describe('firehose protocol v1', { skip }, () => {
  let dataDir: string
  const relays: RelayHandle[] = []
  const clients: FirehoseClient[] = []
  let base: string
  const start = async (options: Partial<RelayOptions> = {}): Promise<string> => {
    const relay = await startRelay(resolveOptions({ host: '127.0.0.1', port: 0, mdns: false, dataDir: join(dataDir, String(relays.length)), ...options }), { log: SILENT })
    relays.push(relay)
    return `ws://127.0.0.1:${relay.httpPort}/firehose`
  }
  const open = async (url: string): Promise<FirehoseClient> => {
    const client = await openFirehose(url)
    clients.push(client)
    return client
  }
  const events = (client: FirehoseClient) => client.frames.filter((f: any) => f.type === 'event') as any[]

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kotoba-firehose-'))
    base = await start()
  })
  after(async () => {
    for (const c of clients) await c.close()
    for (const r of relays) await r.close()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('v0 stays the default: raw payloads, {"error":…} frames', async () => {
    const a = await open(base)
    const b = await open(base)
    a.send({ topic: 'messages', body: line('user_v0', [], 'plain v0') })
    const got = await b.next(f => f?.params?.message === 'plain v0', 'the raw payload')
    assert.equal(got.method, 'message.send')
    a.send({ topic: 'nope', body: {} })
    assert.equal((await a.next(f => f.error !== undefined, 'an error')).error.code, 'unknown-topic')
  })

  it('?v=1 gets a welcome, then every event in an envelope: seq, time, topic, peer, payload', async () => {
    const reader = await open(`${base}?v=1`)
    const welcome = await reader.next(f => f.type === 'welcome', 'the welcome')
    assert.equal(welcome.version, 1)
    assert.equal(welcome.limits.publishRate, 20)
    const writer = await open(base)
    writer.send({ topic: 'messages', body: line('user_a', ['companion_x'], 'one') })
    writer.send({ topic: 'messages', body: line('user_a', ['companion_x'], 'two') })
    await waitFor(() => events(reader).length >= 2, 'two events')
    const [e1, e2] = events(reader)
    assert.equal(e1.topic, 'messages')
    assert.equal(e1.peer, 'firehose')
    assert.equal(e1.payload.params.message, 'one')
    assert.equal(e2.seq, e1.seq + 1, 'sequence numbers are consecutive')
    assert.ok(e1.seq > welcome.seq - 1 && typeof e1.time === 'number')
  })

  it('a v0 client opts in with a hello frame', async () => {
    const c = await open(base)
    c.send({ type: 'hello', version: 1 })
    assert.equal((await c.next(f => f.type === 'welcome', 'the welcome')).version, 1)
    c.send({ type: 'publish', topic: 'messages', body: { broken: true }, id: 'p1' })
    const error = await c.next(f => f.type === 'error', 'the error')
    assert.deepEqual([error.id, error.code], ['p1', 'invalid'])
  })

  it('subscriptions choose topics, senders and addressees, and change on the open connection', async () => {
    const sub = await open(`${base}?v=1`)
    sub.send({ type: 'subscribe', topics: ['messages'], from: ['user_alice'] })
    await sub.next(f => f.type === 'subscribed', 'the subscription')
    const writer = await open(base)
    writer.send({ topic: 'messages', body: line('user_bob', [], 'from bob') })
    writer.send({ topic: 'actions', body: { jsonrpc: '2.0', method: 'action.send', params: { from: 'user_alice', name: 'wave', params: {} } } })
    writer.send({ topic: 'messages', body: line('user_alice', ['companion_z'], 'from alice') })
    await sub.next(f => f.type === 'event' && f.payload.params.message === 'from alice', 'alice\'s line')
    assert.deepEqual(events(sub).map(e => e.payload.params.message), ['from alice'], 'nothing else')
    sub.send({ type: 'subscribe', to: ['companion_z'] })
    await sub.next(f => f.type === 'subscribed' && f.to?.[0] === 'companion_z', 'the new subscription')
    writer.send({ topic: 'messages', body: line('user_bob', ['companion_y'], 'to y') })
    writer.send({ topic: 'messages', body: line('user_bob', ['companion_y', 'companion_z'], 'to y and z') })
    await sub.next(f => f.type === 'event' && f.payload.params.message === 'to y and z', 'the line to z')
    assert.ok(!events(sub).some(e => e.payload.params.message === 'to y'))
  })

  it('publishes with an id are acknowledged with their seq; errors carry the id and a code, and the connection stays', async () => {
    const c = await open(`${base}?v=1`)
    await c.next(f => f.type === 'welcome', 'the welcome')
    c.send({ type: 'publish', id: 'ok-1', topic: 'messages', body: line('user_c', [], 'acked') })
    const ack = await c.next(f => f.type === 'ack', 'the ack')
    assert.equal(ack.id, 'ok-1')
    assert.ok(Number.isInteger(ack.seq))
    const cases: Array<[unknown, string]> = [
      [{ type: 'publish', id: 'e1', topic: 'gossip', body: {} }, 'unknown-topic'],
      [{ type: 'publish', id: 'e2', topic: 'messages', body: { jsonrpc: '2.0' } }, 'invalid'],
      [{ type: 'publish', id: 'e3', topic: 'messages', body: line('user_c', [], 'x'.repeat(64 * 1024)) }, 'too-large'],
      [{ type: 'teleport', id: 'e4' }, 'invalid']
    ]
    for (const [frame, code] of cases) {
      c.send(frame)
      const id = (frame as { id: string }).id
      const error = await c.next(f => f.type === 'error' && f.id === id, `the error for ${id}`)
      assert.equal(error.code, code, id)
      assert.ok(error.message.length > 5)
    }
    c.send({ type: 'ping', id: 'still-there' })
    assert.equal((await c.next(f => f.type === 'pong', 'the pong')).id, 'still-there')
  })

  it('a client publishing too fast is told rate-limited and keeps its connection', async () => {
    const c = await open(`${base}?v=1`)
    for (let i = 0; i < 60; i++) c.send({ type: 'publish', id: `r${i}`, topic: 'messages', body: line('user_fast', [], `fast ${i}`) })
    await waitFor(() => c.frames.filter((f: any) => f.type === 'ack' || f.type === 'error').length === 60, 'an answer to each publish')
    const limited = c.frames.filter((f: any) => f.type === 'error' && f.code === 'rate-limited').length
    const acked = c.frames.filter((f: any) => f.type === 'ack').length
    assert.ok(acked >= 40 && limited >= 1 && acked + limited === 60, `${acked} acked, ${limited} rate-limited`)
    assert.equal(c.ws.readyState, WebSocket.OPEN)
  })

  it('replay: a reconnecting client gets what it missed, in order, without duplicates', async () => {
    const first = await open(`${base}?v=1`)
    await first.next(f => f.type === 'welcome', 'the welcome')
    const writer = await open(base)
    writer.send({ topic: 'messages', body: line('user_r', [], 'before 1') })
    await first.next(f => f.type === 'event' && f.payload.params.message === 'before 1', 'a first event')
    const lastSeen = events(first).at(-1).seq
    await first.close()
    for (const text of ['missed 1', 'missed 2', 'missed 3']) writer.send({ topic: 'messages', body: line('user_r', [], text) })
    await waitFor(async () => {
      const info = await (await fetch(base.replace('ws:', 'http:') + '/info')).json() as { seq: number }
      return info.seq >= lastSeen + 3
    }, 'the relay to have the three lines')
    const again = await open(base)
    again.send({ type: 'hello', version: 1, since: lastSeen, subscribe: { from: ['user_r'] } })
    const done = await again.next(f => f.type === 'replayed', 'the end of the replay')
    const replayed = events(again).map(e => e.payload.params.message)
    assert.deepEqual(replayed, ['missed 1', 'missed 2', 'missed 3'])
    assert.equal(done.count, 3)
    const seqs = events(again).map(e => e.seq)
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b))
    writer.send({ topic: 'messages', body: line('user_r', [], 'live after') })
    await again.next(f => f.type === 'event' && f.payload.params.message === 'live after', 'the live line')
    assert.equal(events(again).length, 4, 'no duplicates')
  })

  it('replay from a seq the buffer no longer holds is refused as too-old, with where it can start', async () => {
    const small = await start({ firehoseReplay: 3 })
    const writer = await open(small)
    for (let i = 1; i <= 5; i++) writer.send({ topic: 'messages', body: line('user_old', [], `old ${i}`) })
    const late = await open(`${small}?v=1`)
    await late.next(f => f.type === 'welcome', 'welcome')
    await waitFor(async () => ((await (await fetch(small.replace('ws:', 'http:') + '/info')).json()) as { seq: number }).seq >= 5, 'five events')
    late.send({ type: 'replay', since: 0 })
    const error = await late.next(f => f.type === 'error', 'the refusal')
    assert.deepEqual([error.code, error.oldest], ['too-old', 2])
    late.send({ type: 'replay', since: error.oldest })
    await late.next(f => f.type === 'replayed', 'the replay')
    assert.deepEqual(events(late).map(e => e.payload.params.message), ['old 3', 'old 4', 'old 5'])
  })

  it('/firehose/info publishes the limits next to the endpoint', async () => {
    const info = await (await fetch(base.replace('ws:', 'http:') + '/info')).json() as any
    assert.deepEqual(info.versions, [0, 1])
    assert.equal(info.limits.maxPayloadBytes, 65536)
    assert.equal(info.limits.publishRate, 20)
    assert.deepEqual(info.access, { publishToken: false, readOnly: false, originAllowList: false })
  })

  it('access: a publish token, read-only mode, an Origin allow-list', async () => {
    const guarded = await start({ firehoseToken: 'secret-token-1', firehoseOrigins: ['http://192.0.2.1:8787'] })
    const anon = await open(`${guarded}?v=1`)
    assert.equal((await anon.next(f => f.type === 'welcome', 'welcome')).mayPublish, false)
    anon.send({ type: 'publish', id: 'u1', topic: 'messages', body: line('user_u', [], 'no token') })
    assert.equal((await anon.next(f => f.type === 'error', 'the refusal')).code, 'unauthorized')
    const byQuery = await open(`${guarded}?v=1&token=secret-token-1`)
    assert.equal((await byQuery.next(f => f.type === 'welcome', 'welcome')).mayPublish, true)
    const byHello = await open(guarded)
    byHello.send({ type: 'hello', version: 1, token: 'secret-token-1' })
    assert.equal((await byHello.next(f => f.type === 'welcome', 'welcome')).mayPublish, true)
    byHello.send({ type: 'publish', id: 'u2', topic: 'messages', body: line('user_u', [], 'with token') })
    assert.equal((await byHello.next(f => f.type === 'ack', 'the ack')).id, 'u2')

    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(guarded, { headers: { origin: 'http://evil.example' } })
      ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0) })
      ws.on('open', () => { ws.close(); resolve(101) })
    })
    assert.equal(refused, 403)
    const allowed = new WebSocket(guarded, { headers: { origin: 'http://192.0.2.1:8787' } })
    await new Promise((resolve, reject) => { allowed.once('open', resolve); allowed.once('error', reject) })
    allowed.close()

    const readOnly = await start({ firehoseReadOnly: true })
    const ro = await open(readOnly)
    ro.send({ topic: 'messages', body: line('user_ro', [], 'nope') })
    const error = await ro.next(f => f.error !== undefined, 'the refusal')
    assert.deepEqual([error.error.code, error.error.message], ['unauthorized', 'this firehose is read-only'])
  })
})
