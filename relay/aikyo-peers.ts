/**
 * The aikyo nodes connected to this relay (docs/companions.md). They
 * reach only peers they can dial over TCP and never announce themselves, so
 * the relay, which they dial, speaks for them:
 *
 * - it asks each for its card (`/aikyo/metadata/1.0.0`, as aikyo asks
 *   everyone after identify) and vouches for them in the default room's
 *   directory (relay/room-directory.ts), so tabs know they are present, that
 *   they never vote one by one, and which peer holds their ids; a node gone
 *   for LEAVE_GRACE_MS is no longer vouched for;
 * - it tells relay/aikyo-stand-ins.ts where they are, so that they hold
 *   the cards of our companions too;
 * - it passes query results on to an aikyo querier: aikyo waits for results
 *   on `queries`, ours come on `query-results`; a result answering a query
 *   an aikyo node asked is published again on `queries`.
 *
 * aikyo nodes are in the default room (they know no rooms).
 */
import type { Libp2p, PeerId, IdentifyResult } from '@libp2p/interface'
import { LEAVE_GRACE_MS, agentVersionOf, requestCard } from '../p2p/presence.ts'
import type { Delivery, TopicBus } from '../p2p/topic-bus.ts'
import { isQuery } from '../protocol/payloads.ts'
import type { CompanionCard } from '../protocol/payloads.ts'
import { DEFAULT_ROOM } from '../protocol/rooms.ts'
import { KOTOBA_AGENT, METADATA_PROTOCOL } from '../protocol/topics.ts'
import type { RelayDirectory } from './room-directory.ts'
import type { Logger } from '../p2p/logger.ts'
import { Lifetime } from '../p2p/lifetime.ts'
import { Listeners } from '../protocol/listeners.ts'

/** Queries of aikyo nodes remembered, waiting for a result (aikyo waits 100 s at most). */
const MAX_PENDING_QUERIES = 1024
const QUERY_MEMORY_MS = 120_000

export interface AikyoPeers {
  /** The aikyo nodes connected, with their cards, by peer id. */
  cards: () => ReadonlyMap<string, CompanionCard>
  /** Told with the aikyo nodes' dialable addresses, by peer id, after every change. Returns the unsubscribe. */
  onPeers: (listener: (peers: ReadonlyMap<string, string[]>) => void) => () => void
  /** Hears every delivery of the relay's bus: queries of aikyo nodes, and results for them. */
  onDelivery: (delivery: Delivery) => void
  /** Results passed on to `queries` for aikyo queriers, since start. */
  readonly resultsPassedOn: number
  stop: () => void
}

export function startAikyoPeers (node: Libp2p, options: { directory: Pick<RelayDirectory, 'vouch'>, bus: Pick<TopicBus, 'publish'>, log: Logger }): AikyoPeers {
  const { directory, bus, log } = options
  const cards = new Map<string, { card: CompanionCard, addrs: string[] }>()
  const lifetime = new Lifetime()
  const listeners = new Listeners<ReadonlyMap<string, string[]>>()
  const vouch = (): void => {
    directory.vouch(DEFAULT_ROOM, [...cards].map(([peer, { card, addrs }]) => ({ peer, addrs, card })))
    const peers = new Map([...cards].map(([peer, { addrs }]) => [peer, addrs]))
    listeners.tell(peers)
  }

  const onIdentify = (event: CustomEvent<IdentifyResult>): void => {
    const { peerId, protocols, connection, listenAddrs } = event.detail
    if (!protocols.includes(METADATA_PROTOCOL) || connection.limits != null) return
    const id = peerId.toString()
    void (async () => {
      if ((await agentVersionOf(node, peerId))?.startsWith(KOTOBA_AGENT) === true) return // one of ours: it announces itself
      const card = await requestCard(connection, lifetime.signal)
      if (node.getConnections(peerId).length === 0) return
      const known = cards.get(id)
      if (known !== undefined && JSON.stringify(known.card) === JSON.stringify(card)) return
      cards.set(id, { card, addrs: listenAddrs.map(a => `${a.toString()}/p2p/${id}`).slice(0, 16) })
      log.info(`aikyo companion ${card.name} (${card.id}) is here, peer ${id}`)
      vouch()
    })().catch(() => { /* no card (aikyo holds ours? we have none): not vouched for */ })
  }

  const leaving = new Set<string>()
  const onDisconnect = (event: CustomEvent<PeerId>): void => {
    const id = event.detail.toString()
    if (!cards.has(id) || leaving.has(id)) return
    leaving.add(id)
    lifetime.later(LEAVE_GRACE_MS, () => {
      leaving.delete(id)
      if (node.getConnections(event.detail).length > 0) return
      const gone = cards.get(id)
      if (gone === undefined) return
      cards.delete(id)
      log.info(`aikyo companion ${gone.card.name} (${gone.card.id}) left`)
      vouch()
    })
  }
  node.addEventListener('peer:identify', onIdentify, { signal: lifetime.signal })
  node.addEventListener('peer:disconnect', onDisconnect, { signal: lifetime.signal })

  // Query id -> when an aikyo node asked it.
  const asked = new Map<string, number>()
  let resultsPassedOn = 0
  const onDelivery = (delivery: Delivery): void => {
    if (delivery.room !== DEFAULT_ROOM) return
    if (delivery.topic === 'queries' && isQuery(delivery.payload)) {
      if (delivery.author === undefined || !cards.has(delivery.author)) return
      const now = Date.now()
      for (const [id, at] of asked) if (at < now - QUERY_MEMORY_MS || asked.size >= MAX_PENDING_QUERIES) asked.delete(id)
      asked.set(delivery.payload.id, now)
      return
    }
    if (delivery.topic !== 'query-results' || !asked.delete(delivery.payload.id)) return
    resultsPassedOn++
    bus.publish(DEFAULT_ROOM, 'queries', delivery.payload).catch((err: Error) => {
      log.warn(`could not pass a query result on to aikyo: ${err.message}`)
    })
  }

  return {
    cards: () => new Map([...cards].map(([peer, { card }]) => [peer, card])),
    onPeers: (listener) => listeners.add(listener),
    onDelivery,
    get resultsPassedOn () { return resultsPassedOn },
    stop: () => {
      lifetime.stop()
      listeners.clear()
    }
  }
}
