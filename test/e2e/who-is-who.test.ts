/**
 * Who is who: a companion id belongs to the peer that presents its card.
 * Each attack beside its honest path, on a real relay process with two
 * Chromium tabs, a headless companion and a raw libp2p peer:
 * - a firehose client speaking as a tab's companion, on every topic, is
 *   refused (`forbidden`) and stays connected; as a person it may speak, and
 *   a person id one connection uses is refused to another until it closes;
 * - a raw libp2p peer publishing as a tab's companion (a line and a vote) is
 *   dropped by the relay and by the headless companion (a process) it reaches
 *   directly, counted on /healthz, and shown nowhere; its own person's line
 *   goes through;
 * - a second peer presenting a card with a live id (a headless companion, a
 *   tab) is refused, says so, and nobody shows a twin; a reloaded tab keeps
 *   its id.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { createLibp2p } from 'libp2p'
import type { Libp2p } from 'libp2p'
import { multiaddr } from '@multiformats/multiaddr'
import type { Page } from 'playwright-core'
import { gossipOptions } from '../../p2p/gossip.ts'
import { messageSend } from '../../protocol/build.ts'
import { DEFAULT_ROOM } from '../../protocol/rooms.ts'
import { companionIdOf, launchBrowser, presentIds } from '../helpers/browser.ts'
import type { Browser } from '../helpers/browser.ts'
import { openFirehose } from '../helpers/firehose-client.ts'
import type { FirehoseClient } from '../helpers/firehose-client.ts'
import { spawnHeadless } from '../helpers/headless-process.ts'
import type { HeadlessProcess } from '../helpers/headless-process.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { spawnRelay } from '../helpers/relay-process.ts'
import type { RelayProcess } from '../helpers/relay-process.ts'
import { waitFor } from '../helpers/wait.ts'

const KENTA = { id: 'companion_kenta', name: 'Kenta', personality: 'steady', story: 'keeps the lighthouse', sample: 'All clear.' }

const lineCount = async (tab: Page, id: string): Promise<number> => await tab.locator(`[data-testid=line][data-message-id="${id}"]`).count()
const vote = (from: string, messageId: string): unknown => ({ jsonrpc: '2.0', method: 'state.send', params: { from, messageId, state: 'speak', importance: 10, selected: true, closing: 'none' } })

describe('who is who: nobody speaks as another', { skip: networkSkipReason({ browser: true }) }, () => {
  let dataDir: string
  let relay: RelayProcess
  let relayTcp: string
  let browser: Browser
  let aya: Page
  let ren: Page
  let ayaId: string
  let renId: string
  const clients: FirehoseClient[] = []
  const headless: HeadlessProcess[] = []
  let raw: Libp2p<{ pubsub: ReturnType<ReturnType<typeof gossipsub>> }> | undefined

  const health = async (): Promise<any> => await (await fetch(new URL('/healthz', relay.httpUrl))).json()
  const open = async (query = '?v=1'): Promise<FirehoseClient> => {
    const client = await openFirehose(`${relay.firehoseUrl}${query}`)
    clients.push(client)
    return client
  }
  /** Kenta, a headless companion process, with a data dir (a peer key) of its own. */
  const startKenta = async (name: string): Promise<HeadlessProcess> => {
    const card = join(dataDir, 'kenta.json')
    await writeFile(card, JSON.stringify(KENTA))
    const companion = await spawnHeadless(['--card', card, '--data-dir', join(dataDir, name), '--no-mdns', '--host', '127.0.0.1', '--bootstrap', relayTcp, '--turn-limit', '2'])
    headless.push(companion)
    return companion
  }

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kotoba-who-'))
    relay = await spawnRelay({ dataDir: join(dataDir, 'relay') })
    relayTcp = `/ip4/127.0.0.1/tcp/${relay.tcpPort}/p2p/${relay.peerId}`
    browser = await launchBrowser()
    aya = await browser.open(`${relay.httpUrl}?companion=aya`)
    ren = await browser.open(`${relay.httpUrl}?companion=ren`)
    ayaId = await companionIdOf(aya)
    renId = await companionIdOf(ren)
    await waitFor(async () => (await presentIds(ren)).includes(ayaId) && (await presentIds(aya)).includes(renId), 'the tabs to see each other', 20_000)
  })

  after(async () => {
    for (const c of clients) await c.close()
    await raw?.stop()
    await Promise.all(headless.map(async c => { await c.kill() }))
    await browser?.close()
    await relay?.kill()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('a firehose client cannot speak as a companion present, on any topic; it stays connected and may speak as a person', async () => {
    const client = await open()
    const attacks: Array<[string, unknown]> = [
      ['messages', messageSend({ id: 'fh-spoof', from: ayaId, to: [renId], message: 'I am Aya, trust me' })],
      ['actions', { jsonrpc: '2.0', method: 'action.send', params: { from: ayaId, name: 'wave', params: {} } }],
      ['states', vote(ayaId, 'fh-spoof')],
      ['queries', { jsonrpc: '2.0', method: 'query.send', id: 'q-spoof', params: { from: ayaId, type: 'speak', body: { message: 'hi' } } }]
    ]
    for (const [topic, body] of attacks) {
      client.send({ type: 'publish', id: `as-aya-${topic}`, topic, body })
      const refused = await client.next(f => f.type === 'error' && f.id === `as-aya-${topic}`, `the ${topic} publish refused`)
      assert.equal(refused.code, 'forbidden')
      assert.match(refused.message, new RegExp(`${ayaId} is a companion that is here`))
    }
    // v0 (aikyo's dialect) is refused the same way.
    const v0 = await open('')
    v0.send({ topic: 'messages', body: messageSend({ id: 'fh-spoof-v0', from: renId, to: [], message: 'I am Ren' }) })
    const refusedV0 = await v0.next(f => f?.error !== undefined, 'the v0 publish refused')
    assert.equal(refusedV0.error.code, 'forbidden')

    // The honest path on the same connection: a person of its own.
    client.send({ type: 'publish', id: 'as-person', topic: 'messages', body: messageSend({ id: 'fh-honest', from: 'user_mallory', to: [], message: 'Hello, I am Mallory' }) })
    await client.next(f => f.type === 'ack' && f.id === 'as-person', 'the person\'s line acknowledged')
    for (const tab of [aya, ren]) await tab.locator('[data-testid=line][data-message-id=fh-honest]').waitFor({ timeout: 10_000 })
    for (const tab of [aya, ren]) assert.equal(await lineCount(tab, 'fh-spoof') + await lineCount(tab, 'fh-spoof-v0'), 0, 'no line as a companion that did not say it')

    // A person id one connection speaks as is not another's while the first is open.
    const other = await open()
    other.send({ type: 'publish', id: 'taken', topic: 'messages', body: messageSend({ from: 'user_mallory', to: [], message: 'me too' }) })
    const taken = await other.next(f => f.type === 'error' && f.id === 'taken', 'the taken person id refused')
    assert.equal(taken.code, 'forbidden')
    assert.match(taken.message, /user_mallory is in use by another firehose connection/)
    client.send({ type: 'ping', id: 'still-here' })
    await client.next(f => f.type === 'pong' && f.id === 'still-here', 'the refused connections to stay open')
    await client.close()
    let n = 0
    await waitFor(async () => {
      other.send({ type: 'publish', id: `free-${++n}`, topic: 'messages', body: messageSend({ from: 'user_mallory', to: [], message: 'my turn' }) })
      const answer = await other.next(f => (f.type === 'ack' || f.type === 'error') && f.id === `free-${n}`, 'an answer')
      return answer.type === 'ack'
    }, 'the person id to be free once its connection closed', 10_000, 200)
  })

  it('a raw libp2p peer speaking as a tab\'s companion (a line, a vote) is dropped by the relay and by a companion it reaches directly; its person\'s line goes through', async () => {
    const kenta = await startKenta('kenta')
    await waitFor(async () => (await presentIds(aya)).includes(KENTA.id), 'the headless companion in the room', 20_000)
    // A node refuses to let anyone speak as a companion it knows of: Kenta must know Aya first.
    await waitFor(() => kenta.output().includes(`(${ayaId}) is here`), 'the headless companion to know Aya', 20_000)
    const kentaTcp = /(\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\S+)/.exec(kenta.output())?.[1]
    assert.ok(kentaTcp !== undefined, `the headless companion prints its TCP address:\n${kenta.output()}`)
    raw = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify(), pubsub: gossipsub(gossipOptions({ room: DEFAULT_ROOM })) }
    })
    const pubsub = raw.services.pubsub
    for (const topic of ['messages', 'states']) pubsub.subscribe(topic)
    await raw.dial(multiaddr(relayTcp))
    await raw.dial(multiaddr(kentaTcp))
    await waitFor(() => pubsub.getSubscribers('messages').length >= 2 && pubsub.getSubscribers('states').length >= 2, 'the relay and the headless companion to hear the raw peer', 20_000)
    const send = async (topic: string, payload: unknown): Promise<void> => { await pubsub.publish(topic, new TextEncoder().encode(JSON.stringify(payload))) }

    const before = await health()
    await send('messages', messageSend({ id: 'raw-spoof', from: ayaId, to: [renId], message: 'Aya here (not really)' }))
    await send('states', vote(ayaId, 'no-such-line'))
    await send('messages', messageSend({ id: 'raw-honest', from: 'user_raw', to: [], message: 'A person on a raw peer' }))

    for (const tab of [aya, ren]) await tab.locator('[data-testid=line][data-message-id=raw-honest]').waitFor({ timeout: 10_000 })
    // The headless companion logs each line it hears, and each payload it refuses.
    await waitFor(() => kenta.output().includes('A person on a raw peer'), 'the honest line at the headless companion')
    await waitFor(async () => {
      const now = await health()
      return now.topics.messages.impersonations > before.topics.messages.impersonations && now.topics.states.impersonations > before.topics.states.impersonations
    }, 'the relay to count both forgeries', 10_000)
    await waitFor(() => /refused on messages from .*: impersonation: speaks as companion_aya/.test(kenta.output()) && /refused on states from .*: impersonation: speaks as companion_aya/.test(kenta.output()), 'the headless companion to refuse both forgeries', 10_000)
      .catch((err: Error) => { throw new Error(`${err.message}; it printed:\n${kenta.output().slice(-3000)}`) })
    assert.ok(!kenta.output().includes('Aya here (not really)'), 'the headless companion never took the forged line')
    for (const tab of [aya, ren]) assert.equal(await lineCount(tab, 'raw-spoof'), 0, 'no tab shows the forged line')
  })

  it('a second peer presenting a live id is refused and says so: a headless companion, then a tab; a reloaded tab keeps its id', async () => {
    // Kenta (the previous test) holds companion_kenta; a second Kenta, another key, comes.
    const twin = await startKenta('kenta-twin')
    await waitFor(() => /Kenta \(companion_kenta\) is already in room lobby, on peer .* stays quiet/.test(twin.output()), 'the twin to say why it is quiet', 15_000)
    await waitFor(async () => (await health()).rooms.twinsRefused >= 1, 'the relay to count the twin', 10_000)
    const roster = await (await fetch(new URL(`/api/relay?room=${DEFAULT_ROOM}`, relay.httpUrl))).json() as { roster: Array<{ card: { id: string } | null }> }
    assert.equal(roster.roster.filter(m => m.card?.id === KENTA.id).length, 1, 'the relay names one Kenta')
    for (const tab of [aya, ren]) assert.equal((await presentIds(tab)).filter(id => id === KENTA.id).length, 1, 'each tab lists one Kenta')

    // The honest path: a reload keeps the peer key, so the id is still Aya's own.
    await aya.reload()
    assert.equal(await companionIdOf(aya), ayaId)
    await waitFor(async () => (await presentIds(ren)).includes(ayaId) && (await presentIds(aya)).includes(renId), 'Aya back after the reload', 20_000)
    assert.equal(await aya.getByTestId('twin').count(), 0, `a reloaded tab is no twin of itself: ${await aya.getByTestId('twin').allTextContents()} ${relay.output().split('\n').filter(l => l.includes('refused')).join(' / ')}`)

    // A tab in another browser given Aya's card (another key): it says so and shows no twin.
    const key = await generateKeyPair('Ed25519')
    const stolen = { key: Buffer.from(privateKeyToProtobuf(key)).toString('base64'), card: { id: ayaId, name: 'Aya', personality: 'p', story: 's', sample: 'x' } }
    const other = await launchBrowser()
    try {
      await other.context.addInitScript((pool) => { localStorage.setItem('kotoba.identities', pool) }, JSON.stringify([stolen]))
      const twinTab = await other.open(`${relay.httpUrl}?companion=aya`)
      assert.equal(await companionIdOf(twinTab), ayaId)
      await twinTab.getByTestId('twin').waitFor({ timeout: 15_000 }).catch(async (err: Error) => {
        const roster = await (await fetch(new URL(`/api/relay?room=${DEFAULT_ROOM}`, relay.httpUrl))).text()
        throw new Error(`${err.message}\nthe twin tab lists ${(await presentIds(twinTab)).join(', ')}; status ${await twinTab.getByTestId('relay-status').textContent().catch(() => '?')}\nthe relay's roster: ${roster}\nits refusals: ${relay.output().split('\n').filter(l => l.includes('refused')).join(' / ')}\nthe tab's errors: ${other.consoleErrors.join(' / ')}`)
      })
      assert.match((await twinTab.getByTestId('twin').textContent())!, /is already in this room, on another peer/)
      // An absence: Ren had two seconds to list a second Aya (it links to the new tab in under one).
      await new Promise(resolve => setTimeout(resolve, 2000))
      assert.equal((await presentIds(ren)).filter(id => id === ayaId).length, 1, 'Ren lists one Aya')
    } finally {
      await other.close()
    }
  })
})
