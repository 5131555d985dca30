/**
 * A node in its room (the first of the two steps of p2p/companion-peer.ts):
 * the room's five topics (the topic bus, its validators, nobody speaking as
 * a companion another peer holds), the room's directory (who is in the
 * room: announcements, a relay's roster, the aikyo nodes a relay vouches
 * for), GossipSub peerings kept two-way, and a bounded number of direct
 * links to companions of the room. A tab without a companion of its own
 * (`?companion=off`) is in its room this way too.
 */
import type { GossipSub } from '@libp2p/gossipsub'
import type { Identify, IdentifyPush } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { createIdClaims } from '../protocol/claims.ts'
import type { CompanionCard } from '../protocol/payloads.ts'
import type { RoomKey } from '../protocol/private-rooms.ts'
import { isPrivateRoom } from '../protocol/rooms.ts'
import type { RoomName } from '../protocol/rooms.ts'
import { startDirectLinks } from './direct-links.ts'
import type { DirectLinks } from './direct-links.ts'
import { startGossipLinks } from './gossip-links.ts'
import { startRoomDirectory } from './room-directory.ts'
import type { RoomDirectory } from './room-directory.ts'
import { startTopicBus } from './topic-bus.ts'
import type { Refusal, RoomChannel } from './topic-bus.ts'
import { Listeners } from '../protocol/listeners.ts'
import type { Logger } from './logger.ts'

/** What a node needs to be a companion peer (the tab's and the headless companion's nodes both are). */
export type CompanionPeerNode = Libp2p<{ pubsub: GossipSub, identify?: Identify, identifyPush?: IdentifyPush }>

export interface JoinOptions {
  /** The room (the node's GossipSub must be set up for it). */
  room: RoomName
  /** A private room's key: its payloads are opened and sealed with it (protocol/private-rooms.ts). */
  key?: RoomKey
  /** Dial other companions' TCP addresses before WebRTC (a Node peer). */
  tcp?: boolean
  /** Direct links held at most (default 8). */
  maxLinks?: number
  onRefused?: (refusal: Refusal) => void
  /** Where links closed for a reason, and gossip peerings opened again, are told (debug). */
  log?: Logger
}

/** Another peer holds the companion id this node presented: it was in the room first. */
export interface TwinOf { id: string, holder: string }

/** A node in a room. */
export interface RoomPeer {
  room: RoomName
  /** The room's side of the topics. */
  channel: RoomChannel
  directory: RoomDirectory
  links: DirectLinks
  /**
   * The companions of the room (not this node), by peer id: the directory's
   * cards and those asked over direct connections, less twins (a second peer
   * presenting an id another holds).
   */
  companions: () => ReadonlyMap<string, CompanionCard>
  /** Told after every change of `companions`. Returns the unsubscribe. */
  onCompanions: (listener: (companions: ReadonlyMap<string, CompanionCard>) => void) => () => void
  /** The peers of `companions` of aikyo's make (they never vote one by one). */
  aikyo: () => ReadonlySet<string>
  /** The cards asked of directly connected peers (presence), by peer id, and which of them are aikyo's. */
  setAsked: (cards: ReadonlyMap<string, CompanionCard>, foreign: ReadonlySet<string>) => void
  /** The card announced in the room's directory (null: this node is no companion). */
  setCard: (card: CompanionCard | null) => void
  /**
   * Told once if the room already had a companion with this node's id (the
   * relay's roster named it): this node then presents no card. A listener
   * that comes later is told at once. Returns the unsubscribe.
   */
  onTwin: (listener: (twin: TwinOf) => void) => () => void
  /** Leaves the room: a goodbye in its directory, its topics unsubscribed, no more links made; every listener and timer removed. */
  stop: () => Promise<void>
}

/** Puts the node in its room and keeps its links (see the module comment). */
export function startRoomPeer (node: CompanionPeerNode, options: JoinOptions): RoomPeer {
  const claims = createIdClaims()
  const bus = startTopicBus(node, options.onRefused ?? (() => {}), { claims: (room) => room === options.room ? claims : undefined })
  if (isPrivateRoom(options.room) && options.key === undefined) throw new TypeError(`room ${options.room} is private: a companion joins it with its key`)
  bus.join(options.room, options.key === undefined ? {} : { key: options.key })
  let card: CompanionCard | null = null
  const directory = startRoomDirectory(node, { room: options.room, card: () => card })

  // Who holds which id: this node first (its own card), then the others as first heard.
  const selfId = node.peerId.toString()
  let asked: ReadonlyMap<string, CompanionCard> = new Map()
  let askedForeign: ReadonlySet<string> = new Set()
  let companions: ReadonlyMap<string, CompanionCard> = new Map()
  let aikyo: ReadonlySet<string> = new Set()
  const companionListeners = new Listeners<ReadonlyMap<string, CompanionCard>>()
  const refresh = (): void => {
    const all = new Map([...directory.cards(), ...asked])
    all.delete(selfId)
    const presented = new Map<string, string>(card === null ? [] : [[selfId, card.id]])
    for (const [peer, c] of all) presented.set(peer, c.id)
    for (const twin of claims.update(presented)) all.delete(twin.peer)
    const foreign = new Set([...directory.aikyo(), ...askedForeign].filter(peer => all.has(peer)))
    if (sameCards(all, companions) && [...foreign].sort().join() === [...aikyo].sort().join()) return
    companions = all
    aikyo = foreign
    companionListeners.tell(companions)
  }
  const unsubscribeCards = directory.onCards(refresh)

  // A companion of this node's id already in the room when this node came
  // (in the directory before its card was, or named by its relay's roster)
  // was there first: this node yields.
  const twinListeners = new Listeners<TwinOf>()
  let twin: TwinOf | undefined
  const yieldTo = (holder: string): void => {
    if (card === null) return
    const found = { id: card.id, holder }
    twin = found
    card = null
    refresh()
    directory.announce()
    twinListeners.tell(found)
  }
  const firstWithId = (id: string): string | undefined =>
    [...directory.cards()].find(([peer, c]) => peer !== selfId && c.id === id)?.[0]
  const unsubscribePeers = directory.onPeer(({ peerId, via }) => {
    if (via === 'roster' && card !== null && directory.cards().get(peerId)?.id === card.id) yieldTo(peerId)
  })
  const gossipLinks = startGossipLinks(node, {
    onRepaired: (peer) => { options.log?.debug(`gossip with ${peer} died with a closed connection; opened again on the connection left`) },
    onBroken: (peer) => { options.log?.debug(`gossip with ${peer} died with a closed connection and could not be opened again; closing the rest so it reconnects`) }
  })
  const links = startDirectLinks(node, {
    room: options.room,
    directory,
    ...(options.maxLinks === undefined ? {} : { maxLinks: options.maxLinks }),
    ...(options.tcp === true ? { tcp: true } : {}),
    ...(options.log === undefined ? {} : { log: options.log })
  })
  return {
    room: options.room,
    channel: bus.channel(options.room),
    directory,
    links,
    companions: () => companions,
    aikyo: () => aikyo,
    onCompanions: (listener) => companionListeners.add(listener),
    setAsked: (cards, foreign) => {
      asked = cards
      askedForeign = foreign
      refresh()
    },
    setCard: (next) => {
      const first = card === null && next !== null ? firstWithId(next.id) : undefined
      card = next
      if (first !== undefined) return yieldTo(first)
      refresh()
      directory.announce()
    },
    onTwin: (listener) => {
      if (twin !== undefined) listener(twin)
      return twinListeners.add(listener)
    },
    stop: async () => {
      unsubscribeCards()
      unsubscribePeers()
      companionListeners.clear()
      twinListeners.clear()
      links.stop()
      gossipLinks.stop()
      await directory.stop()
      bus.stop()
    }
  }
}

function sameCards (a: ReadonlyMap<string, CompanionCard>, b: ReadonlyMap<string, CompanionCard>): boolean {
  if (a.size !== b.size) return false
  for (const [peerId, card] of a) {
    const other = b.get(peerId)
    if (other === undefined || JSON.stringify(other) !== JSON.stringify(card)) return false
  }
  return true
}
