/**
 * One process of `npm run bench -- scale`: simulated companions that join the
 * relay the way a tab does: a WebSocket to the relay, a circuit-relay
 * reservation, GossipSub on their room's topics, the room's directory
 * (announcements fast while joining, then once a minute), and a vote on each
 * line they hear. Each is made by the tab's own node configuration
 * (web/libp2p-node.ts). What they do not do is think, or dial WebRTC links:
 * the benchmark measures the relay.
 *
 * argv: relay WebSocket multiaddr. IPC in: {type:'add', rooms: [[room, count]…]},
 * {type:'stop'}. IPC out: {type:'added', joined}, {type:'latencies', values},
 * {type:'votes', count} (votes heard, since the last).
 */
import { multiaddr } from '@multiformats/multiaddr'
import { startRoomDirectory } from '../p2p/room-directory.ts'
import type { RoomDirectory } from '../p2p/room-directory.ts'
import { startTopicBus } from '../p2p/topic-bus.ts'
import { roomName } from '../protocol/rooms.ts'
import { createCompanionNode } from '../web/libp2p-node.ts'
import type { CompanionNode } from '../web/libp2p-node.ts'
import { waitFor } from '../test/helpers/wait.ts'
import { now } from './stats.ts'

const relay = multiaddr(process.argv[2])
const nodes: Array<{ node: CompanionNode, directory: RoomDirectory }> = []
let batch: number[] = []
/** Votes heard since the last report. */
let votes = 0

async function startCompanion (room: string, n: number): Promise<void> {
  const where = roomName(room)
  // Made as a tab makes its node (web/libp2p-node.ts), in Node.
  const node = await createCompanionNode({ room: where, iceServers: [] })

  const id = `companion_sim${process.pid}x${n}`
  const card = { id, name: `sim ${n}`, personality: 'a simulated companion', story: 'lives in a benchmark', sample: 'hm' }
  const bus = startTopicBus(node, () => {})
  bus.join(where)
  const directory = startRoomDirectory(node, { room: where, card: () => card })
  bus.onPayload((delivery) => {
    if (delivery.topic === 'states' && !delivery.own) votes++
    if (delivery.topic !== 'messages' || delivery.own) return
    const { id: messageId, metadata } = delivery.payload.params
    if (typeof metadata?.sentAt === 'number') batch.push(now() - metadata.sentAt)
    // A vote on the line (one state, with the line's id), as every companion of the room publishes.
    void bus.publish(where, 'states', { jsonrpc: '2.0', method: 'state.send', params: { from: id, messageId, state: 'listen', importance: 1, selected: false, closing: 'none' } }).catch(() => {})
  })
  await node.dial(relay)
  // Joined like a tab: reserved on the relay (our circuit address) and on the room's topics.
  await waitFor(() => node.getMultiaddrs().some(ma => ma.toString().includes('/p2p-circuit')), 'a reservation', 60_000)
  nodes.push({ node, directory })
}

process.on('message', (message: { type: string, rooms?: Array<[string, number]> }) => {
  if (message.type === 'add') {
    void (async () => {
      let joined = 0
      const starts: Array<Promise<void>> = []
      for (const [room, count] of message.rooms!) {
        for (let i = 0; i < count; i++) {
          starts.push(startCompanion(room, nodes.length + starts.length).then(() => { joined++ }, (err: Error) => { process.stderr.write(`a simulated companion did not join: ${err.message}\n`) }))
          // Not all at once: a few dozen handshakes in flight at a time.
          if (starts.length % 20 === 0) await Promise.all(starts.slice(-20))
        }
      }
      await Promise.all(starts)
      process.send!({ type: 'added', joined })
    })()
  }
  if (message.type === 'stop') {
    clearInterval(flush)
    if (batch.length > 0) process.send!({ type: 'latencies', values: batch })
    void Promise.all(nodes.map(async ({ node, directory }) => { await directory.stop(); await node.stop() })).finally(() => { process.exit(0) })
  }
})

const flush = setInterval(() => {
  if (votes > 0) process.send!({ type: 'votes', count: votes })
  votes = 0
  if (batch.length === 0) return
  process.send!({ type: 'latencies', values: batch })
  batch = []
}, 200)
process.send!({ type: 'ready' })
// The benchmark went away (it ended, or was stopped): so do we.
process.on('disconnect', () => { process.exit(0) })
