/**
 * One process of `npm run bench -- scale`: simulated companions that join the
 * relay the way a tab does: a WebSocket to the relay, a circuit-relay
 * reservation, GossipSub on their room's topics, the room's directory
 * (announcements fast while joining, then once a minute), and on each line
 * they hear the turn's traffic as companions make it: each judges the line as
 * the built-in mind judges a person's line to everyone (it wants to speak,
 * importance 6 to 9) and votes by its room's rule (protocol/rooms.ts: every
 * vote in the default room, only votes that could still win in a named one),
 * and the line's leader publishes the decision when the vote window closes.
 * Each is made by the tab's own node configuration (web/libp2p-node.ts).
 * What they do not do is think, write, or dial WebRTC links: the benchmark
 * measures the relay.
 *
 * argv: relay WebSocket multiaddr. IPC in: {type:'add', rooms: [[room, count]…]},
 * {type:'stop'}. IPC out: {type:'added', joined}, {type:'latencies', values},
 * {type:'votes', count} (votes and decisions heard, since the last).
 */
import { multiaddr } from '@multiformats/multiaddr'
import { startRoomDirectory } from '../p2p/room-directory.ts'
import type { RoomDirectory } from '../p2p/room-directory.ts'
import { startTopicBus } from '../p2p/topic-bus.ts'
import { roomName, voteRuleOf } from '../protocol/rooms.ts'
import type { State } from '../protocol/payloads.ts'
import { electLeader, electionHash, electionPool } from '../companion/decisions.ts'
import { seededRandom } from '../companion/random.ts'
import { couldWin, voteDelayMs } from '../companion/speaker-selection.ts'
import type { Vote } from '../companion/speaker-selection.ts'
import { stateOf } from '../companion/turn-decision.ts'
import { DEFAULT_TURN_SETTINGS } from '../companion/turn-state.ts'
import { createCompanionNode } from '../web/libp2p-node.ts'
import type { CompanionNode } from '../web/libp2p-node.ts'
import { waitFor } from '../test/helpers/wait.ts'
import { now } from './stats.ts'

const relay = multiaddr(process.argv[2])
const nodes: Array<{ node: CompanionNode, directory: RoomDirectory }> = []
let batch: number[] = []
/** Votes heard since the last report. */
let votes = 0

/** The bench's vote window, as a companion's (turn-state.ts). */
const WINDOW_MS = DEFAULT_TURN_SETTINGS.voteWindowMs

async function startCompanion (room: string, n: number): Promise<void> {
  const where = roomName(room)
  // Made as a tab makes its node (web/libp2p-node.ts), in Node.
  const node = await createCompanionNode({ room: where, iceServers: [] })

  const id = `companion_sim${process.pid}x${n}`
  const card = { id, name: `sim ${n}`, personality: 'a simulated companion', story: 'lives in a benchmark', sample: 'hm' }
  const bus = startTopicBus(node, () => {})
  bus.join(where)
  const directory = startRoomDirectory(node, { room: where, card: () => card })
  const rule = voteRuleOf(where)
  /** The single votes seen for recent lines. */
  const ballots = new Map<string, Vote[]>()
  const publishStates = (payload: State | State[]): void => { void bus.publish(where, 'states', payload).catch(() => {}) }
  bus.onPayload((delivery) => {
    if (delivery.topic === 'states') {
      if (delivery.own) return
      votes++
      for (const s of Array.isArray(delivery.payload) ? delivery.payload : [delivery.payload]) {
        if (s.params.messageId !== undefined) ballots.get(s.params.messageId)?.push(s.params)
      }
      return
    }
    if (delivery.topic !== 'messages' || delivery.own) return
    const { id: messageId, metadata } = delivery.payload.params
    if (typeof metadata?.sentAt === 'number') batch.push(now() - metadata.sentAt)
    const seen: Vote[] = []
    ballots.set(messageId, seen)
    if (ballots.size > 16) ballots.delete(ballots.keys().next().value!)
    // Judged as the built-in mind judges a person's line to everyone: it speaks, importance 6 to 9.
    const random = seededRandom(`${id}|${messageId}`)
    const vote: Vote = { from: id, state: 'speak', importance: 6 + Math.floor(random() * 4), selected: false, closing: 'none' }
    const send = (): void => { seen.push(vote); publishStates(stateOf(vote, messageId)) }
    // The room's rule (protocol/rooms.ts): every vote, or only one that could still win, better ones first.
    if (rule === 'every') send()
    else setTimeout(() => { if (couldWin(vote, seen)) send() }, voteDelayMs(vote, random(), WINDOW_MS))
    // The line's leader (elected as every companion elects it) publishes the decision when the window closes.
    const present = [id, ...[...directory.cards().values()].map(c => c.id)]
    if (electLeader(electionHash(delivery.payload), electionPool({ from: delivery.payload.params.from, to: delivery.payload.params.to }, present)) === id) {
      setTimeout(() => { if (seen.length > 0) publishStates(seen.map(v => stateOf(v))) }, WINDOW_MS)
    }
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
