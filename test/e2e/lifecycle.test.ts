/**
 * One lifecycle: every long-lived piece is started one way and its handle's
 * `stop()` takes everything it added with it. Started and stopped 20 times
 * in one process, a relay leaves no handle, socket or timer behind, and a
 * companion peer (its room, links, directory, presence, companion) leaves no
 * listener or timer on the node it ran on.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createBuiltinBrain } from '../../companion/builtin-brain.ts'
import { createHeadlessNode } from '../../headless/libp2p-node.ts'
import type { HeadlessNode } from '../../headless/libp2p-node.ts'
import { startCompanionPeer } from '../../p2p/companion-peer.ts'
import { SILENT } from '../../p2p/logger.ts'
import { startRoomPeer } from '../../p2p/room-peer.ts'
import { roomName } from '../../protocol/rooms.ts'
import { resolveOptions } from '../../relay/options.ts'
import { startRelay } from '../../relay/relay.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { waitFor } from '../helpers/wait.ts'

const skip = networkSkipReason()
const ROUNDS = 20

/** The process's active handles and requests, counted by kind (sockets, servers, timers...). */
function resources (): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1
  return counts
}

/** What the process holds once a second has passed with no change (sockets close and timers clear a moment after stop). */
async function settledResources (): Promise<Record<string, number>> {
  let last = JSON.stringify(resources())
  let stableSince = Date.now()
  for (const deadline = Date.now() + 10_000; Date.now() < deadline && Date.now() - stableSince < 1000;) {
    await new Promise(resolve => setTimeout(resolve, 100))
    const now = JSON.stringify(resources())
    if (now !== last) [last, stableSince] = [now, Date.now()]
  }
  return JSON.parse(last) as Record<string, number>
}

/** Waits until the process holds no more of any kind than it held before: what the rounds added went with them. */
async function noMoreThan (before: Record<string, number>, what: string): Promise<void> {
  const grown = (): string[] => Object.entries(resources()).filter(([kind, n]) => n > (before[kind] ?? 0)).map(([kind]) => kind)
  await waitFor(() => grown().length === 0, what, 10_000).catch(() => {
    assert.deepEqual(resources(), before, `${what}: ${grown().join(', ')} grew`)
  })
}

const EVENTS = ['peer:connect', 'peer:disconnect', 'peer:identify', 'peer:update', 'self:peer:update', 'connection:open', 'connection:close', 'transport:listening', 'transport:close'] as const
const PUBSUB_EVENTS = ['message', 'subscription-change', 'gossipsub:heartbeat'] as const
type Counted = { listenerCount: (type: string) => number }

/** Listeners on the node and on its GossipSub, by event, with the topics it takes part in. */
function listenersOn (node: HeadlessNode): Record<string, unknown> {
  const emitter = node as unknown as Counted
  const pubsub = node.services.pubsub as unknown as Counted
  return {
    node: Object.fromEntries(EVENTS.map(e => [e, emitter.listenerCount(e)])),
    pubsub: Object.fromEntries(PUBSUB_EVENTS.map(e => [e, pubsub.listenerCount(e)])),
    topics: node.services.pubsub.getTopics().sort(),
    validators: [...node.services.pubsub.topicValidators.keys()].sort(),
    protocols: node.getProtocols().sort()
  }
}

describe('one lifecycle: started and stopped again and again, nothing is left behind', { skip }, () => {
  const dirs: string[] = []
  after(async () => { for (const dir of dirs) await rm(dir, { recursive: true, force: true }) })

  it(`a relay, started and closed ${ROUNDS} times in one process, leaves no handle or timer`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kotoba-lifecycle-'))
    dirs.push(dir)
    const once = async (): Promise<void> => {
      const relay = await startRelay(resolveOptions({ host: '127.0.0.1', port: 0, mdns: false, dataDir: dir }), { log: SILENT })
      await relay.close()
    }
    // The first start loads modules and opens what stays open for the process (none of the relay's own).
    await once()
    const before = await settledResources()
    for (let i = 0; i < ROUNDS; i++) await once()
    await noMoreThan(before, `the process's handles after ${ROUNDS} relays`)
  })

  it(`a companion peer, started and stopped ${ROUNDS} times on one node, leaves no listener or timer on it`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kotoba-lifecycle-'))
    dirs.push(dir)
    const room = roomName('lifecycle')
    const relay = await startRelay(resolveOptions({ host: '127.0.0.1', port: 0, mdns: false, dataDir: join(dir, 'relay') }), { log: SILENT })
    const node = await createHeadlessNode({ room, privateKey: await generateKeyPair('Ed25519'), host: '127.0.0.1', tcpPort: 0, mdns: false })
    try {
      await node.dial(relay.multiaddrs().find(a => !a.toString().includes('/ws'))!)
      const card = { id: 'companion_lifecycle', name: 'Lifa', personality: 'patient', story: 'starts and stops', sample: 'Again!' }
      const once = async (): Promise<void> => {
        const inRoom = startRoomPeer(node, { room, tcp: true })
        const peer = await startCompanionPeer(node, inRoom, { card, brain: createBuiltinBrain({ seed: card.id }) })
        // In the room as the relay sees it: announced, and its card known.
        await waitFor(() => JSON.stringify(relay.relayInfo(undefined, room).roster).includes(card.id), 'the relay to list the companion in its room')
        await peer.stop()
        await inRoom.stop()
        await waitFor(() => !JSON.stringify(relay.relayInfo(undefined, room).roster).includes(card.id), 'the relay to hear it leave')
      }
      await once()
      const listeners = listenersOn(node)
      const before = await settledResources()
      for (let i = 0; i < ROUNDS; i++) await once()
      assert.deepEqual(listenersOn(node), listeners, `the node's listeners, topics and protocols after ${ROUNDS} companion peers`)
      await noMoreThan(before, `the process's handles after ${ROUNDS} companion peers`)
    } finally {
      await node.stop()
      await relay.close()
    }
  })
})
