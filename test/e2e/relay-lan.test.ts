/**
 * Relays on a LAN, in-process on loopback: mDNS discovery with one-sided
 * auto-dial, and bootstrap peers re-dialled after they come back.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { messageSend } from '../../protocol/build.ts'
import { resolveOptions } from '../../relay/options.ts'
import type { RelayOptions } from '../../relay/options.ts'
import { startRelay } from '../../relay/relay.ts'
import type { RelayHandle } from '../../relay/relay.ts'
import { openFirehose } from '../helpers/firehose-client.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { waitFor } from '../helpers/wait.ts'
import { SILENT } from '../../p2p/logger.ts'

const skip = networkSkipReason()
const dirs: string[] = []
const relays: RelayHandle[] = []

async function relayWith (options: Partial<RelayOptions>): Promise<RelayHandle> {
  const dataDir = options.dataDir ?? await mkdtemp(join(tmpdir(), 'kotoba-lan-'))
  dirs.push(dataDir)
  const relay = await startRelay(resolveOptions({ host: '127.0.0.1', port: 0, mdns: false, ...options, dataDir }), { log: SILENT })
  relays.push(relay)
  return relay
}

const firehoseUrl = (relay: RelayHandle): string => `ws://127.0.0.1:${relay.httpPort}/firehose`
const tcpAddr = (relay: RelayHandle): string =>
  relay.multiaddrs().map(ma => ma.toString()).find(a => !a.includes('/ws/'))!

async function assertGossipFlows (from: RelayHandle, to: RelayHandle, text: string): Promise<void> {
  const sender = await openFirehose(firehoseUrl(from))
  const receiver = await openFirehose(firehoseUrl(to))
  try {
    // GossipSub needs the peers' subscriptions before a publish reaches them.
    await waitFor(() => from.node.services.pubsub.getSubscribers('messages').some(p => p.toString() === to.peerId), 'the relays to see each other\'s subscriptions')
    sender.send({ topic: 'messages', body: messageSend({ from: 'user_lan', to: [], message: text }) })
    await receiver.next(f => f.params?.message === text, `${text} across the relays`)
  } finally {
    await sender.close()
    await receiver.close()
  }
}

describe('relays on a LAN', { skip }, () => {
  after(async () => {
    await Promise.all(relays.map(async r => { await r.close() }))
    await Promise.all(dirs.map(async d => { await rm(d, { recursive: true, force: true }) }))
  })

  it('find each other by mDNS, hold exactly one connection, and carry gossip', async () => {
    const a = await relayWith({ mdns: true })
    const b = await relayWith({ mdns: true })
    await waitFor(() => a.node.getConnections().some(c => c.remotePeer.toString() === b.peerId), 'relays A and B to connect', 10_000)
    await assertGossipFlows(a, b, 'over mDNS')
    await assertGossipFlows(b, a, 'and back')
    assert.equal(a.node.getConnections().filter(c => c.remotePeer.toString() === b.peerId).length, 1)
    await a.close()
    await b.close()
  })

  it('dial bootstrap peers at start and again after they restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'kotoba-lan-'))
    let a = await relayWith({ dataDir })
    const addr = tcpAddr(a)
    const tcpPort = Number(/\/tcp\/(\d+)\//.exec(addr)![1])
    const b = await relayWith({ bootstrap: [addr] })
    await waitFor(() => b.node.getConnections().some(c => c.remotePeer.toString() === a.peerId), 'B to dial its bootstrap peer A')
    await assertGossipFlows(b, a, 'via bootstrap')

    const idBefore = a.peerId
    await a.close()
    await waitFor(() => b.node.getConnections().every(c => c.remotePeer.toString() !== idBefore), 'B to notice A is gone')
    a = await relayWith({ dataDir, tcpPort })
    assert.equal(a.peerId, idBefore, 'the restarted relay keeps its peer id')
    await waitFor(() => b.node.getConnections().some(c => c.remotePeer.toString() === a.peerId), 'B to re-dial A after its restart', 20_000)
    await assertGossipFlows(a, b, 'after the restart')
  })
})
