/**
 * GossipSub links among many nodes of one host, on loopback: a relay counts
 * every peer that shares an IP address; a peering whose streams died with a
 * duplicate connection is opened again on the connection left; headless companions of one host link to
 * each other over TCP, not WebRTC.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { startHeadlessCompanion } from '../../headless/headless-companion.ts'
import type { HeadlessCompanion } from '../../headless/headless-companion.ts'
import { messageSend } from '../../protocol/build.ts'
import { gossipOptions } from '../../p2p/gossip.ts'
import { startGossipLinks } from '../../p2p/gossip-links.ts'
import { resolveOptions } from '../../relay/options.ts'
import { startRelay } from '../../relay/relay.ts'
import type { RelayHandle } from '../../relay/relay.ts'
import { openFirehose } from '../helpers/firehose-client.ts'
import type { FirehoseClient } from '../helpers/firehose-client.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { startRawPeer } from '../helpers/raw-peer.ts'
import type { RawPeer } from '../helpers/raw-peer.ts'
import { waitFor } from '../helpers/wait.ts'
import { DEFAULT_ROOM } from '../../protocol/rooms.ts'
import { SILENT } from '../../p2p/logger.ts'

const skip = networkSkipReason()

describe('GossipSub links among many nodes of one host', { skip }, () => {
  const cleanups: Array<() => Promise<void>> = []
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
  })

  const relayIn = async (): Promise<{ relay: RelayHandle, tcpAddr: string }> => {
    const dataDir = await mkdtemp(join(tmpdir(), 'kotoba-links-'))
    const relay = await startRelay(resolveOptions({ host: '127.0.0.1', port: 0, mdns: false, dataDir }), { log: SILENT })
    cleanups.push(async () => { await relay.close(); await rm(dataDir, { recursive: true, force: true }) })
    return { relay, tcpAddr: relay.multiaddrs().map(String).find(a => !a.includes('/ws/'))! }
  }

  it('a relay counts and hears 16 peers that share one IP address (no colocation penalty)', async () => {
    const { relay, tcpAddr } = await relayIn()
    const peers: RawPeer[] = []
    cleanups.push(async () => { await Promise.all(peers.map(async p => { await p.stop() })) })
    for (let i = 0; i < 16; i++) peers.push(await startRawPeer(tcpAddr))
    await waitFor(() => relay.node.services.pubsub.getSubscribers('messages').length === 16, 'the relay to count all 16 peers as subscribers')

    const client: FirehoseClient = await openFirehose(`ws://127.0.0.1:${relay.httpPort}/firehose`)
    cleanups.push(async () => { await client.close() })
    await peers[15].publishRaw('messages', JSON.stringify(messageSend({ from: 'user_sixteenth', to: [], message: 'the 16th peer speaks' })))
    await client.next(f => f?.params?.message === 'the 16th peer speaks', 'the 16th peer\'s message at the firehose')
  })

  it('a peering whose streams closed with a duplicate connection is opened again on the connection left, which stays open', async () => {
    const make = async (): Promise<Libp2p<{ pubsub: GossipSub, identify: Identify }>> => {
      const node = await createLibp2p({
        addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
        transports: [tcp()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        services: { identify: identify(), pubsub: gossipsub(gossipOptions({ room: DEFAULT_ROOM })) }
      })
      cleanups.push(async () => { await node.stop() })
      node.services.pubsub.subscribe('messages')
      return node
    }
    const a = await make()
    const b = await make()
    const repaired: string[] = []
    const broken: string[] = []
    // Each side repairs its own stream; one that sees the other's first has GossipSub answer it with its own.
    for (const node of [a, b]) startGossipLinks(node, { onRepaired: (peer) => { repaired.push(peer) }, onBroken: (peer) => { broken.push(peer) } })
    const heard = { a: [] as string[], b: [] as string[] }
    a.services.pubsub.addEventListener('message', (event) => { heard.a.push(new TextDecoder().decode(event.detail.data)) })
    b.services.pubsub.addEventListener('message', (event) => { heard.b.push(new TextDecoder().decode(event.detail.data)) })
    const say = async (from: typeof a, text: string): Promise<void> => { await from.services.pubsub.publish('messages', new TextEncoder().encode(text)).catch(() => {}) }
    const isGossip = (s: { protocol?: string }): boolean => s.protocol?.startsWith('/meshsub/') === true

    const first = await a.dial(b.getMultiaddrs()[0])
    await waitFor(() => first.streams.filter(isGossip).length === 2, 'GossipSub streams, both ways, on the first connection')
    await waitFor(() => a.services.pubsub.getSubscribers('messages').some(p => p.equals(b.peerId)), 'b subscribed, seen from a')
    const identified = new Set<string>()
    a.addEventListener('peer:identify', (event) => { identified.add(event.detail.connection.id) })
    const second = await a.dial(b.getMultiaddrs()[0], { force: true })
    assert.notEqual(second.id, first.id)
    // Identify done on the duplicate too: GossipSub has been told of it, and did nothing.
    await waitFor(() => identified.has(second.id), 'identify on the duplicate connection')
    assert.equal(second.streams.some(isGossip), false, 'GossipSub opens no streams on the duplicate')

    // The connection carrying gossip closes: its streams are opened again on the one left.
    await first.close()
    await waitFor(() => second.streams.filter(isGossip).length === 2, 'GossipSub streams, both ways, on the connection left')
    assert.equal(second.status, 'open', 'the connection left stays open')
    assert.deepEqual(a.getConnections(b.peerId).map(c => c.id), [second.id])
    await waitFor(() => repaired.length > 0, 'a side to say it repaired the peering')
    assert.ok(repaired.every(peer => peer === a.peerId.toString() || peer === b.peerId.toString()))
    assert.deepEqual(broken, [], 'nothing was closed to repair it')
    await waitFor(async () => { await say(a, 'a to b after the repair'); return heard.b.includes('a to b after the repair') }, 'gossip from a to b again')
    await waitFor(async () => { await say(b, 'b to a after the repair'); return heard.a.includes('b to a after the repair') }, 'gossip from b to a again')
  })

  it('headless companions of one host link to each other over TCP and see each other', async () => {
    const { relay, tcpAddr } = await relayIn()
    const dir = await mkdtemp(join(tmpdir(), 'kotoba-links-companions-'))
    const companions: HeadlessCompanion[] = []
    cleanups.push(async () => {
      await Promise.all(companions.map(async c => { await c.close() }))
      await rm(dir, { recursive: true, force: true })
    })
    for (const name of ['ichi', 'ni', 'san']) {
      companions.push(await startHeadlessCompanion({
        card: { id: `companion_${name}`, name, personality: 'calm', story: 'lives on the relay host', sample: 'hm' },
        room: DEFAULT_ROOM, host: '127.0.0.1', tcpPort: 0, mdns: false, bootstrap: [tcpAddr], dataDir: join(dir, name), turnLimit: 2
      }, { log: SILENT }))
    }
    for (const c of companions) {
      const others = companions.filter(o => o !== c)
      await waitFor(() => others.every(o => c.node.getConnections(o.node.peerId).some(x => x.status === 'open' && x.limits == null)), `${c.companion.card.name} to link directly to the others`, 20_000)
      await waitFor(() => others.every(o => c.present().some(card => card.id === o.companion.card.id)), `${c.companion.card.name} to hold the others' cards`)
      const direct = others.flatMap(o => c.node.getConnections(o.node.peerId)).filter(x => x.status === 'open')
      assert.ok(direct.every(x => x.limits == null && x.remoteAddr.getComponents().some(p => p.name === 'tcp') && !x.remoteAddr.toString().includes('/webrtc')),
        `only direct TCP links between companions of one host, got ${direct.map(x => x.remoteAddr.toString()).join(', ')}`)
    }
    assert.equal(relay.node.services.pubsub.getSubscribers('messages').length, 3)
  })
})
