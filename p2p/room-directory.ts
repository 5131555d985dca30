/**
 * A tab's or headless companion's side of its room's directory
 * (protocol/directory.ts): it announces itself (addresses and card) fast
 * while joining and then once a minute, hears who else is in the room (their
 * announcements, a relay's roster for newcomers, leaves, a relay's notice of
 * who is gone), and tells direct links whom to dial and presence whose card
 * is in the room. Announcing once a minute keeps the background cost of a
 * node O(1) per minute whatever the size of the LAN: newcomers learn the
 * room from a relay's roster, not from everyone announcing all the time.
 */
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import type { Libp2p } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import { checkRoster, decodeDirectoryMessage, encodeDirectoryMessage } from '../protocol/directory.ts'
import type { DirectoryMessage, RosterEntry } from '../protocol/directory.ts'
import type { CompanionCard } from '../protocol/payloads.ts'
import { directoryTopicName } from '../protocol/rooms.ts'
import type { RoomName } from '../protocol/rooms.ts'
import { RoomMembers } from '../protocol/room-members.ts'
import type { Member } from '../protocol/room-members.ts'
import { Lifetime } from './lifetime.ts'
import { Listeners } from '../protocol/listeners.ts'

/** Once joined, a node announces itself this often. */
export const ANNOUNCE_REFRESH_MS = 60_000
/** While joining (after start, or when its addresses change), it announces at these times. */
export const JOIN_ANNOUNCEMENTS_MS = [0, 1000, 3000] as const
/** A peer not heard of for this long (two refreshes and a half) has gone. */
export const DIRECTORY_EXPIRY_MS = 2.5 * ANNOUNCE_REFRESH_MS

/** A peer of the room, as direct links hear of it. */
export interface HeardPeer {
  peerId: string
  addrs: Multiaddr[]
  /** From a relay's roster (we are the newcomer: we dial) or its own announcement. */
  via: 'roster' | 'announce'
}

export interface RoomDirectory {
  /** The companions of the room known through the directory (not this node), by peer id. */
  cards: () => ReadonlyMap<string, CompanionCard>
  /** The peers of `cards` that are aikyo nodes (a relay vouched for them). */
  aikyo: () => ReadonlySet<string>
  /** Told after every change of `cards` (or of which are aikyo's). Returns the unsubscribe. */
  onCards: (listener: (cards: ReadonlyMap<string, CompanionCard>) => void) => () => void
  /** Told of every peer of the room heard of, with its addresses. Returns the unsubscribe. */
  onPeer: (listener: (peer: HeardPeer) => void) => () => void
  /** Whether a peer is in the room, as far as the directory knows. */
  has: (peerId: string) => boolean
  /** The peers of the room it knows (not this node). */
  peers: () => string[]
  /** The addresses a peer of the room gave last (none for a peer not in it). */
  addrsOf: (peerId: string) => Multiaddr[]
  /** Announces again now, and as while joining (the card changed: the first may go to nobody). */
  announce: () => void
  /**
   * Takes a roster for us that came another way (the relay's HTTP answer, read
   * before the directory's own roster could arrive), as if the relay had sent
   * it; entries that are not roster entries are left out.
   */
  introduce: (peers: unknown[]) => void
  /** Says goodbye (a `leave`) and stops. */
  stop: () => Promise<void>
}

export interface RoomDirectoryOptions {
  room: RoomName
  /** This node's card, or null: a tab without a companion. */
  card: () => CompanionCard | null
}

const toMultiaddrs = (addrs: string[]): Multiaddr[] => addrs.flatMap((a) => {
  try { return [multiaddr(a)] } catch { return [] }
})

/**
 * Carries a directory topic: subscribed, its messages decoded once, in the
 * validator (a message that fails is refused for every peer downstream, and
 * one that is not signed names no author), and each handed to `onMessage`
 * with its author. Its `stop()` unsubscribes and removes the validator. The
 * nodes of a room and the relay (one per room it carries) both use it.
 */
export function startDirectoryTopic (pubsub: GossipSub, topic: string, onMessage: (author: string, message: DirectoryMessage) => void): { stop: () => void } {
  const accepted = new WeakMap<Message, DirectoryMessage>()
  pubsub.topicValidators.set(topic, (_peer, message) => {
    const decoded = message.type === 'signed' ? decodeDirectoryMessage(message.data) : undefined
    if (decoded === undefined) return TopicValidatorResult.Reject
    accepted.set(message, decoded)
    return TopicValidatorResult.Accept
  })
  const onGossip = (event: CustomEvent<Message>): void => {
    const message = event.detail
    if (message.topic !== topic || message.type !== 'signed') return
    const decoded = accepted.get(message)
    if (decoded === undefined) return
    accepted.delete(message)
    onMessage(message.from.toString(), decoded)
  }
  const lifetime = new Lifetime()
  pubsub.addEventListener('message', onGossip, { signal: lifetime.signal })
  pubsub.subscribe(topic)
  return {
    stop: () => {
      lifetime.stop()
      pubsub.unsubscribe(topic)
      pubsub.topicValidators.delete(topic)
    }
  }
}

/**
 * When a node announces itself: fast while joining, then once a minute;
 * joining again when its addresses change (a reservation made or lost),
 * since that is when others can reach it differently, and when its card
 * changes (the first of those announcements may go to nobody: a relay
 * subscribes to a room's topics only once a peer of it is there); and once
 * more when the first peer on the topic appears (a relay's roster answers an
 * announcement it hears from a peer of its own; those before went to nobody).
 * Returns the way to join again.
 */
function keepAnnouncing (node: Libp2p<{ pubsub: GossipSub }>, topic: string, announce: () => void, lifetime: Lifetime): () => void {
  const pubsub = node.services.pubsub
  let joining: Array<() => void> = []
  const join = (): void => {
    for (const cancel of joining) cancel()
    joining = JOIN_ANNOUNCEMENTS_MS.map(ms => lifetime.later(ms, announce))
  }
  lifetime.every(ANNOUNCE_REFRESH_MS, announce)
  let addrsText = ''
  const addrsMaybeChanged = (): void => {
    const text = node.getMultiaddrs().map(String).sort().join(' ')
    if (text === addrsText) return
    addrsText = text
    join()
  }
  node.addEventListener('self:peer:update', addrsMaybeChanged, { signal: lifetime.signal })
  // A relay reservation made (a tab's relay address, which others dial it at) is told at
  // once: libp2p's self:peer:update comes up to a second later (it is debounced).
  node.addEventListener('transport:listening', addrsMaybeChanged, { signal: lifetime.signal })
  let reached = false
  pubsub.addEventListener('subscription-change', () => {
    if (reached || pubsub.getSubscribers(topic).length === 0) return
    reached = true
    announce()
  }, { signal: lifetime.signal })
  join()
  return join
}

export function startRoomDirectory (node: Libp2p<{ pubsub: GossipSub }>, options: RoomDirectoryOptions): RoomDirectory {
  const pubsub = node.services.pubsub
  const topic = directoryTopicName(options.room)
  const self = node.peerId.toString()
  const members = new RoomMembers(self)
  /** Each member's addresses, parsed once. */
  const parsed = new WeakMap<Member, Multiaddr[]>()
  const addrsOf = (member: Member | undefined): Multiaddr[] => {
    if (member === undefined) return []
    let addrs = parsed.get(member)
    if (addrs === undefined) parsed.set(member, addrs = toMultiaddrs(member.addrs))
    return addrs
  }
  const cardListeners = new Listeners<ReadonlyMap<string, CompanionCard>>()
  const peerListeners = new Listeners<HeardPeer>()
  const lifetime = new Lifetime()

  const cards = (): Map<string, CompanionCard> =>
    new Map(members.all().flatMap(m => m.card === null ? [] : [[m.peer, m.card] as const]))
  const aikyoPeers = (): Set<string> => new Set(members.all().flatMap(m => m.aikyo === true ? [m.peer] : []))
  const cardsText = (): string => JSON.stringify([[...cards()], [...aikyoPeers()]])
  let lastCards = cardsText()
  const cardsMaybeChanged = (): void => {
    const now = cards()
    const text = cardsText()
    if (text === lastCards) return
    lastCards = text
    cardListeners.tell(now)
  }
  const heard = (member: Member, via: HeardPeer['via']): void => {
    peerListeners.tell({ peerId: member.peer, addrs: addrsOf(member), via })
  }
  const connected = (peerId: string): boolean => node.getConnections().some(c => c.remotePeer.toString() === peerId && c.status === 'open')
  /** A roster: for us (we are the newcomer), we link to those it names; someone else's tells of peers we may not have heard of yet. */
  const takeRoster = (peers: RosterEntry[], forUs: boolean, now: number): void => {
    for (const member of members.roster(peers, now, forUs)) heard(member, 'roster')
  }

  const onMessage = (author: string, message: DirectoryMessage): void => {
    const now = Date.now()
    switch (message.type) {
      case 'announce': {
        const taken = members.announce(author, message.addrs, message.card, now)
        if (taken !== undefined) heard(taken.member, 'announce')
        break
      }
      case 'roster':
        takeRoster(message.peers, message.for === self, now)
        break
      case 'leave':
        members.remove(author)
        break
      case 'gone':
        // A relay saw them go; one still linked to us directly is still here.
        members.gone(message.peers, connected)
        break
      case 'vouch':
        members.vouch(message.peers, now)
        break
    }
    cardsMaybeChanged()
  }

  const directoryTopic = startDirectoryTopic(pubsub, topic, onMessage)

  const publish = (message: DirectoryMessage): Promise<void> =>
    pubsub.publish(topic, encodeDirectoryMessage(message)).then(() => {}, () => { /* nobody to tell yet: the next one goes */ })
  const announceNow = (): void => {
    // Nobody on the topic yet (a tab still dialling its relay): nothing to sign and send; the
    // first peer that comes makes it announce (keepAnnouncing).
    if (lifetime.stopped || pubsub.getSubscribers(topic).length === 0) return
    void publish({ type: 'announce', addrs: node.getMultiaddrs().map(String).slice(0, 16), card: options.card() })
  }

  const announceAgain = keepAnnouncing(node, topic, announceNow, lifetime)

  lifetime.every(ANNOUNCE_REFRESH_MS / 2, () => {
    members.expire(Date.now() - DIRECTORY_EXPIRY_MS, connected)
    cardsMaybeChanged()
  })

  return {
    cards,
    aikyo: aikyoPeers,
    onCards: (listener) => cardListeners.add(listener),
    onPeer: (listener) => peerListeners.add(listener),
    has: (peerId) => members.has(peerId),
    peers: () => members.peers(),
    addrsOf: (peerId) => addrsOf(members.get(peerId)),
    announce: () => { if (!lifetime.stopped) announceAgain() },
    introduce: (peers) => {
      if (lifetime.stopped) return
      takeRoster(checkRoster(peers), true, Date.now())
      cardsMaybeChanged()
    },
    stop: async () => {
      if (lifetime.stopped) return
      lifetime.stop()
      cardListeners.clear()
      peerListeners.clear()
      await publish({ type: 'leave' })
      directoryTopic.stop()
    }
  }
}
