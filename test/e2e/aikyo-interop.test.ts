/**
 * Interop with aikyo: a minimal aikyo-style peer (libp2p v2-line packages,
 * configured as aikyo configures its nodes; see helpers/aikyo-peer.ts), a
 * relay process and a headless companion process, all with mDNS on in the
 * test's namespace. They discover each other, exchange cards over
 * `/aikyo/metadata/1.0.0`, and see each other's messages, states, actions
 * and queries; query results reach an aikyo querier on `queries`.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startAikyoPeer } from '../helpers/aikyo-peer.ts'
import type { AikyoPeer } from '../helpers/aikyo-peer.ts'
import { openFirehose } from '../helpers/firehose-client.ts'
import { spawnHeadless } from '../helpers/headless-process.ts'
import type { HeadlessProcess } from '../helpers/headless-process.ts'
import type { FirehoseClient } from '../helpers/firehose-client.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { fixedKey, writePeerKey } from '../helpers/fixed-keys.ts'
import { spawnRelay } from '../helpers/relay-process.ts'
import type { RelayProcess } from '../helpers/relay-process.ts'
import { waitFor } from '../helpers/wait.ts'

const skip = networkSkipReason()
const AYA = { id: 'companion_aya', name: 'Aya', personality: 'cheerful', story: 'An aikyo companion.', sample: 'Hi!' }
const KYOKO = { id: 'companion_kyoko', name: 'Kyoko', personality: 'calm and thoughtful', story: 'A librarian.', sample: 'I see.' }

describe('aikyo interop: an aikyo-style peer, a relay and a headless companion', { skip }, () => {
  let dir: string
  let relay: RelayProcess
  let headless: HeadlessProcess
  let aikyo: AikyoPeer
  let firehose: FirehoseClient

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kotoba-aikyo-'))
    // Fixed keys, as a LAN host beside aikyo should have (aikyo stops hearing a host that shows it too many peer ids).
    await writePeerKey(join(dir, 'relay'), await fixedKey('aikyo-interop relay'))
    await writePeerKey(join(dir, 'kyoko'), await fixedKey('aikyo-interop kyoko'))
    relay = await spawnRelay({ dataDir: join(dir, 'relay'), mdns: true })
    firehose = await openFirehose(relay.firehoseUrl)
    await writeFile(join(dir, 'kyoko.json'), JSON.stringify(KYOKO))
    headless = await spawnHeadless(['--card', join(dir, 'kyoko.json'), '--data-dir', join(dir, 'kyoko'), '--host', '127.0.0.1', '--turn-limit', '3'])
    aikyo = await startAikyoPeer(AYA)
  })

  after(async () => {
    await aikyo?.stop()
    await firehose?.close()
    await headless?.kill()
    await relay?.kill()
    await rm(dir, { recursive: true, force: true })
  })

  it('they discover each other by mDNS and exchange cards both ways', async () => {
    await waitFor(() => [...aikyo.companions.values()].some(c => c.id === KYOKO.id), 'the aikyo peer to hold our companion\'s card', 20_000)
    await waitFor(() => headless.output().includes(`+ Aya (${AYA.id}) is here`), 'our companion to hold the aikyo companion\'s card', 20_000)
    // The relay is no companion: aikyo asks, gets no metadata, and does not list it.
    assert.ok(!aikyo.companions.has(relay.peerId))
  })

  it('an aikyo line reaches our companion, which answers; aikyo sees its messages, states, actions and queries', async () => {
    const hello = { jsonrpc: '2.0', method: 'message.send', params: { id: randomUUID(), from: AYA.id, to: [KYOKO.id], message: 'Hello Kyoko, it is Aya, from aikyo!' } }
    await aikyo.publish('messages', hello)
    const from = (list: unknown[], id: string): any[] => list.flat().filter((p: any) => p?.params?.from === id)
    await waitFor(() => from(aikyo.received.messages, KYOKO.id).length > 0, 'our companion\'s answer at the aikyo peer', 30_000)
    const answer = from(aikyo.received.messages, KYOKO.id)[0]
    assert.ok(answer.params.to.includes(AYA.id), 'the answer addresses the aikyo companion')
    assert.equal(answer.jsonrpc, '2.0')
    assert.equal(answer.method, 'message.send')
    await waitFor(() => from(aikyo.received.states, KYOKO.id).length > 0, 'our companion\'s vote at the aikyo peer', 10_000)
    const vote = from(aikyo.received.states, KYOKO.id)[0]
    assert.equal(vote.method, 'state.send')
    assert.ok(['speak', 'listen'].includes(vote.params.state))
    await waitFor(() => from(aikyo.received.actions, KYOKO.id).length > 0, 'our companion\'s action at the aikyo peer', 10_000)
    await waitFor(() => from(aikyo.received.queries, KYOKO.id).some((q: any) => q.method === 'query.send' && q.params.type === 'speak'), 'our companion\'s speak query at the aikyo peer', 10_000)
    // The firehose sees aikyo's line, with aikyo's peer as its author.
    await firehose.next(f => f?.params?.id === hello.params.id, 'the aikyo line on the firehose')
  })

  it('aikyo\'s states arrays, actions and query results reach our side', async () => {
    const states = [{ jsonrpc: '2.0', method: 'state.send', params: { from: AYA.id, messageId: 'm-1', state: 'listen', importance: 2, selected: false, closing: 'none' } }]
    const action = { jsonrpc: '2.0', method: 'action.send', params: { from: AYA.id, name: 'gesture', params: { gesture: 'wave' } } }
    const result = { jsonrpc: '2.0', id: randomUUID(), result: { success: true, body: { spoken: true } } }
    await aikyo.publish('states', states)
    await aikyo.publish('actions', action)
    await aikyo.publish('queries', result)
    await firehose.next(f => Array.isArray(f) && f[0]?.params?.from === AYA.id, 'aikyo\'s states array on the firehose')
    await firehose.next(f => f?.method === 'action.send' && f.params.from === AYA.id, 'aikyo\'s action on the firehose')
    await firehose.next(f => f?.id === result.id, 'aikyo\'s query result (on queries, as newer aikyo sends it) on the firehose')
    assert.doesNotMatch(relay.output(), /refused/, 'the relay refused nothing aikyo sent')
  })

  it('a query result a client publishes on query-results reaches the aikyo querier on queries; ours are not passed on', async () => {
    const query = { jsonrpc: '2.0', id: randomUUID(), method: 'query.send', params: { from: AYA.id, type: 'speak', body: { message: 'Hello', emotion: 'happy' } } }
    await aikyo.publish('queries', query)
    await firehose.next(f => f?.id === query.id && f.method === 'query.send', 'the aikyo query on the firehose')
    // A client (a page, a firehose program) answers it, on query-results, as ours listen.
    firehose.send({ topic: 'query-results', body: { jsonrpc: '2.0', id: query.id, result: { success: true, body: { spoken: true } } } })
    await waitFor(() => aikyo.events.some(e => e.type === 'query-result' && e.id === query.id), 'the result at the aikyo peer, on queries (its schema, strictly)', 10_000)
    // Our companion's own speak queries are answered on query-results only.
    const ours = { jsonrpc: '2.0', id: randomUUID(), result: { success: false, body: { reason: 'sound is off' } } }
    firehose.send({ topic: 'query-results', body: ours })
    // Then another aikyo query and its result: once that one is in, ours would have been too.
    const second = { ...query, id: randomUUID() }
    await aikyo.publish('queries', second)
    await firehose.next(f => f?.id === second.id && f.method === 'query.send', 'the second aikyo query on the firehose')
    firehose.send({ topic: 'query-results', body: { jsonrpc: '2.0', id: second.id, result: { success: true, body: {} } } })
    await waitFor(() => aikyo.events.some(e => e.type === 'query-result' && e.id === second.id), 'the second result at the aikyo peer', 10_000)
    assert.ok(!aikyo.events.some(e => e.type === 'query-result' && e.id === ours.id), 'a result for no aikyo query is not passed on')
    const health = await (await fetch(`${relay.httpUrl}healthz`)).json() as { aikyo: { companions: string[], resultsPassedOn: number } }
    assert.deepEqual(health.aikyo.companions, [AYA.id])
    assert.equal(health.aikyo.resultsPassedOn, 2)
  })
})
