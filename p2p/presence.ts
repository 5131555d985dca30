/**
 * Who is present: companion cards exchanged over `/aikyo/metadata/1.0.0`
 * (docs/protocol.md). We serve our card to whoever asks (ONE UTF-8 JSON
 * object, then close; no length prefix) and ask every peer that, after
 * identify, says it speaks the protocol and is in our room (its agent
 * version says the room; protocol/rooms.ts). A peer that does not speak it
 * is not a companion (a relay, a firehose). The list shrinks when a peer
 * has been disconnected for LEAVE_GRACE_MS.
 * We ask again on every identify, so a card edited after we met arrives
 * when its owner `announce()`s it with an identify push.
 *
 * aikyo's nodes answer a card request only while they do not know the
 * asker's card yet. Both sides ask at once after identify, so which request
 * gets an answer would be a race: when a peer that is not one of ours asks
 * for our card before we have its card, we ask for its card first.
 */
import type { IdentifyPush } from '@libp2p/identify'
import type { Connection, IdentifyResult, Libp2p, PeerId } from '@libp2p/interface'
import { parseJson } from '../protocol/codec.ts'
import { toCard } from '../protocol/payloads.ts'
import type { CompanionCard } from '../protocol/payloads.ts'
import { roomOfAgent } from '../protocol/rooms.ts'
import type { RoomName } from '../protocol/rooms.ts'
import { KOTOBA_AGENT, METADATA_PROTOCOL } from '../protocol/topics.ts'
import { Lifetime } from './lifetime.ts'
import { readAll } from './stream-bytes.ts'
import { Listeners } from '../protocol/listeners.ts'

/**
 * A companion that disconnects stays present this long. Links between
 * companions are re-made now and then (a duplicate link closed, a GossipSub
 * peering renewed by closing the peer's connections, see gossip-links.ts),
 * and the peer is back within about a second: it has not left, and must not
 * be greeted again as a newcomer. A peer still gone after this has left.
 */
export const LEAVE_GRACE_MS = 3000

/** A card is a few hundred bytes; refuse to buffer more than this from a peer. */
const MAX_CARD_BYTES = 16 * 1024
const REQUEST_TIMEOUT_MS = 5000

/**
 * Asks a peer for its card over a connection we already have (never dials:
 * a dial here would race the WebRTC upgrade between tabs). A card is small,
 * so a relayed, limited connection will do.
 */
export async function requestCard (connection: Connection, signal?: AbortSignal): Promise<CompanionCard> {
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS)
  const options = { signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]), runOnLimitedConnection: true }
  const stream = await connection.newStream(METADATA_PROTOCOL, options)
  const onAbort = (): void => { stream.abort(new Error('no card in time')) }
  options.signal.addEventListener('abort', onAbort, { once: true })
  try {
    // Read before anything is awaited: a stream's data that arrives with no
    // reader attached is gone (a fast peer answers while we close our end).
    const reading = readAll(stream, MAX_CARD_BYTES, 'card')
    await stream.close(options) // we send nothing: close our writable end
    const text = new TextDecoder().decode(await reading)
    if (text === '') throw new Error('the peer sent no card')
    const json = parseJson(text)
    const card = json.ok ? toCard(json.value) : undefined
    if (card === undefined) throw new Error(`not a companion card: ${text.slice(0, 80)}`)
    return card
  } catch (err) {
    stream.abort(err as Error)
    throw err
  } finally {
    options.signal.removeEventListener('abort', onAbort)
  }
}

/** The identify agent a peer gave (ours say `kotoba/…` and their room), if identify ran. */
export async function agentVersionOf (node: Pick<Libp2p, 'peerStore'>, peer: PeerId): Promise<string | undefined> {
  try {
    const agent = (await node.peerStore.get(peer)).metadata.get('AgentVersion')
    return agent === undefined ? undefined : new TextDecoder().decode(agent)
  } catch {
    return undefined
  }
}

export interface Presence {
  /**
   * Called after every change with the cards asked, by peer id, and which of
   * those peers are of another make (aikyo's: their identify agent is not
   * ours). Returns the unsubscribe.
   */
  onChange: (listener: (asked: AskedCards) => void) => () => void
  /** Tells connected peers our card changed (identify push, when the node has it). */
  announce: () => Promise<void>
  stop: () => Promise<void>
}

/** The cards asked of directly connected peers, by peer id, and which of those peers are not ours (aikyo's). */
export interface AskedCards { cards: Map<string, CompanionCard>, foreign: ReadonlySet<string> }

/** Serves `getCard()` and keeps the list of companions present in `room` up to date. */
export async function startPresence (node: Libp2p<{ identifyPush?: IdentifyPush }>, getCard: () => CompanionCard, room: RoomName): Promise<Presence> {
  const cards = new Map<string, CompanionCard>()
  /** Peers whose cards we hold that are not ours (aikyo's). */
  const foreign = new Set<string>()
  const listeners = new Listeners<AskedCards>()
  const lifetime = new Lifetime()
  const changed = (): void => {
    for (const id of foreign) if (!cards.has(id)) foreign.delete(id)
    listeners.tell({ cards: new Map(cards), foreign: new Set(foreign) })
  }

  /** Requests in flight, by peer id: a second ask for the same peer waits for the first. */
  const asking = new Map<string, Promise<void>>()
  const ask = async (peer: PeerId, connection: Connection): Promise<void> => {
    const id = peer.toString()
    const pending = asking.get(id)
    if (pending !== undefined) return await pending
    const request = (async () => {
      const agent = await agentOf(peer)
      if (roomOfAgent(agent) !== room) throw new Error('in another room')
      return { card: await requestCard(connection, lifetime.signal), ours: agent?.startsWith(KOTOBA_AGENT) === true }
    })().then(({ card, ours }) => {
      if (node.getConnections(peer).length === 0) return // left while we asked
      const known = cards.get(id)
      if (known !== undefined && JSON.stringify(known) === JSON.stringify(card) && foreign.has(id) !== ours) return
      cards.set(id, card)
      if (ours) foreign.delete(id)
      else foreign.add(id)
      changed()
    }, () => {
      // Not a companion after all, or gone: nothing to list. But a card asked over a
      // relayed connection that closed as the peers linked directly is asked again over the link.
      if (connection.status === 'open') return
      const other = node.getConnections(peer).find(c => c.status === 'open' && c.limits == null)
      if (other !== undefined) queueMicrotask(() => { void ask(peer, other) })
    })
      .finally(() => { asking.delete(id) })
    asking.set(id, request)
    await request
  }

  const agentOf = async (peer: PeerId): Promise<string | undefined> => await agentVersionOf(node, peer)
  const isOurs = async (peer: PeerId): Promise<boolean> => (await agentOf(peer))?.startsWith(KOTOBA_AGENT) === true

  await node.handle(METADATA_PROTOCOL, async (stream, connection) => {
    try {
      const peer = connection.remotePeer
      if (!cards.has(peer.toString()) && !await isOurs(peer)) await ask(peer, connection)
      stream.send(new TextEncoder().encode(JSON.stringify(getCard())))
      await stream.close()
    } catch (err) {
      stream.abort(err as Error)
    }
  }, { runOnLimitedConnection: true })

  const onIdentify = (event: CustomEvent<IdentifyResult>): void => {
    const { peerId, protocols, connection } = event.detail
    if (protocols.includes(METADATA_PROTOCOL)) void ask(peerId, connection)
    // A peer that no longer serves a card (a companion that went quiet: a twin
    // that yielded) is no companion any more, though still connected.
    else if (cards.delete(peerId.toString())) changed()
  }
  const leaving = new Set<string>()
  const onDisconnect = (event: CustomEvent<PeerId>): void => {
    const peer = event.detail
    const id = peer.toString()
    if (!cards.has(id) || leaving.has(id)) return
    leaving.add(id)
    lifetime.later(LEAVE_GRACE_MS, () => {
      leaving.delete(id)
      if (node.getConnections(peer).length > 0) return // back in time
      if (cards.delete(id)) changed()
    })
  }
  node.addEventListener('peer:identify', onIdentify, { signal: lifetime.signal })
  node.addEventListener('peer:disconnect', onDisconnect, { signal: lifetime.signal })
  // Peers identified before presence started (a companion that comes up after its node has
  // connected): asked now, over the connection identify ran on.
  // Asked over a direct connection where there is one: a relayed one closes once the
  // peers have linked directly, and a card asked over it would be lost with it.
  const best = new Map<string, Connection>()
  for (const connection of node.getConnections()) {
    const id = connection.remotePeer.toString()
    if (connection.status === 'open' && (!best.has(id) || best.get(id)!.limits != null)) best.set(id, connection)
  }
  for (const connection of best.values()) {
    void node.peerStore.get(connection.remotePeer).then((peer) => {
      if (peer.protocols.includes(METADATA_PROTOCOL)) void ask(connection.remotePeer, connection)
    }, () => { /* not identified yet: its identify event comes */ })
  }

  return {
    onChange: (listener) => listeners.add(listener),
    announce: async () => { await node.services.identifyPush?.push() },
    stop: async () => {
      lifetime.stop()
      listeners.clear()
      await node.unhandle(METADATA_PROTOCOL).catch(() => {})
    }
  }
}
