/**
 * The relay's side of each room's directory (protocol/directory.ts): it
 * carries the directory topic of every room it carries, keeps who is in each
 * room (their last announcement), and
 * - introduces newcomers: when a peer of its own announces itself in a room
 *   for the first time, or first since it connected to the relay anew (a
 *   reloaded tab keeps its peer id), the relay sends the room's roster (everyone else, in
 *   rosters of at most MAX_ROSTER), so the newcomer links and knows every card
 *   at once while everyone else goes on announcing only once a minute;
 * - tells the room who is gone: a peer of its own that disconnected and did
 *   not come back within LEAVE_GRACE_MS;
 * - counts the companions of each room, across the mesh (`/api/relay`);
 * - knows who holds each companion id in each room (protocol/claims.ts): the
 *   first peer that announced it; a second peer announcing a held id is a
 *   twin, refused: its card is listed nowhere (rosters, counts), payloads
 *   speaking as that id from anyone but the holder are dropped, and a twin
 *   reached through this relay is sent a roster naming the holder.
 */
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { Lifetime } from '../p2p/lifetime.ts'
import { LEAVE_GRACE_MS } from '../p2p/presence.ts'
import { ANNOUNCE_REFRESH_MS, DIRECTORY_EXPIRY_MS, startDirectoryTopic } from '../p2p/room-directory.ts'
import { createIdClaims } from '../protocol/claims.ts'
import type { IdClaims } from '../protocol/claims.ts'
import { MAX_ROSTER, encodeDirectoryMessage } from '../protocol/directory.ts'
import type { DirectoryMessage, RosterEntry } from '../protocol/directory.ts'
import type { CompanionCard } from '../protocol/payloads.ts'
import { directoryTopicName } from '../protocol/rooms.ts'
import type { RoomName } from '../protocol/rooms.ts'
import { RoomMembers } from '../protocol/room-members.ts'
import type { Member } from '../protocol/room-members.ts'
import type { Logger } from '../p2p/logger.ts'
import { Listeners } from '../protocol/listeners.ts'

/** A peer of aikyo's make connected to this relay, and its card (asked by relay/aikyo-peers.ts). */
export interface VouchedPeer { peer: string, addrs: string[], card: CompanionCard }

export interface RelayDirectory {
  /** Carries a room's directory (the relay joined the room). */
  join: (room: RoomName) => void
  /** Drops a room's directory (the relay left the room). */
  leave: (room: RoomName) => void
  /** Companions in the room, as its directory knows them (across the mesh). */
  companions: (room: RoomName) => number
  /** The room's members, most recently heard first, at most MAX_ROSTER (what `/api/relay?room=` gives a newcomer). */
  roster: (room: RoomName) => RosterEntry[]
  /**
   * The aikyo nodes connected to this relay, in the room (aikyo's are all in
   * the default room): they do not announce themselves, so the relay tells
   * the room (a `vouch`, again once a minute) and lists them in rosters.
   */
  vouch: (room: RoomName, peers: VouchedPeer[]) => void
  /** The companions of the room (not twins), by peer id, and which of them are aikyo's. */
  companionsOf: (room: RoomName) => Array<{ peer: string, card: CompanionCard, aikyo: boolean }>
  /** Told after the members of a room changed. Returns the unsubscribe. */
  onMembers: (listener: (room: RoomName) => void) => () => void
  /** Who holds each companion id in the room (undefined: a room the relay does not carry). */
  claims: (room: RoomName) => Pick<IdClaims, 'holder'> | undefined
  /** The peer holding a companion id in `room`, else in any room the relay carries. */
  holder: (room: RoomName, id: string) => string | undefined
  /** Second cards refused, since start (a twin of a companion present). */
  readonly twinsRefused: number
  /** Rosters sent, since start (a newcomer's introduction; a big room takes several). */
  readonly rostersSent: number
  stop: () => void
}

/** What each room's directory reports to the relay-wide one. */
interface RoomReports {
  publish: (message: DirectoryMessage) => void
  /** A peer reached through this relay directly (so it introduces it, and knows when it goes). */
  ownPeer: (peer: string) => boolean
  /** Whether a peer connected to this relay anew since it was last introduced (and from now on it has been). */
  takeNewConnection: (peer: string) => boolean
  /** A second peer presented a held id. */
  twin: (twin: { peer: string, id: string, holder: string }) => void
  rosterSent: () => void
  /** The members changed. */
  changed: () => void
}

/** One room the relay carries: its members, who holds which id, and the aikyo nodes this relay vouches for in it. */
class CarriedRoom {
  readonly members = new RoomMembers()
  readonly ids: IdClaims = createIdClaims()
  #twins = new Set<string>()
  #vouched: VouchedPeer[] = []
  readonly #reports: RoomReports

  constructor (reports: RoomReports) {
    this.#reports = reports
  }

  /**
   * The claims again, after the members changed. A new twin is reported, and
   * one reached through this relay is sent a roster naming the holder: it
   * may have presented its card before it heard of the holder, and a roster
   * for it is what makes a node yield (p2p/room-peer.ts).
   */
  reclaim (): void {
    const presented = new Map(this.members.all().flatMap(m => m.card === null ? [] : [[m.peer, m.card.id] as const]))
    const twins = this.ids.update(presented)
    for (const twin of twins) {
      if (this.#twins.has(twin.peer)) continue
      this.#reports.twin(twin)
      const holder = this.members.get(twin.holder)
      if (holder === undefined || !this.#reports.ownPeer(twin.peer)) continue
      this.#reports.publish({ type: 'roster', for: twin.peer, peers: [{ peer: holder.peer, addrs: holder.addrs, card: holder.card, ...(holder.aikyo === true ? { aikyo: true } : {}) }] })
      this.#reports.rosterSent()
    }
    this.#twins = new Set(twins.map(t => t.peer))
    this.#reports.changed()
  }

  /** A member's card as others may see it: none for a twin. */
  cardOf (m: Member): RosterEntry['card'] {
    return this.#twins.has(m.peer) ? null : m.card
  }

  /** Members, most recently heard first, as roster entries. */
  byRecency (except?: string): RosterEntry[] {
    return this.members.all().filter(m => m.peer !== except).sort((a, b) => b.heard - a.heard).map(m => {
      const entry: RosterEntry = { peer: m.peer, addrs: m.addrs, card: this.cardOf(m) }
      if (m.aikyo === true) entry.aikyo = true
      return entry
    })
  }

  hear (author: string, message: DirectoryMessage, now: number): void {
    const { members } = this
    switch (message.type) {
      case 'announce': {
        const taken = members.announce(author, message.addrs, message.card, now)
        if (taken === undefined) return
        this.reclaim()
        // A newcomer (or one back after it expired, or one that connected to us anew: a reloaded
        // tab keeps its peer id, and its old entry may still be here), reached through us: introduce it.
        const { before } = taken
        const anew = this.#reports.takeNewConnection(author)
        if ((before === undefined || before.heard < now - DIRECTORY_EXPIRY_MS || anew) && this.#reports.ownPeer(author)) this.#introduce(author)
        return
      }
      case 'roster':
        // Another relay's introduction: it tells us of peers we may not have heard yet.
        members.roster(message.peers, now, false)
        break
      case 'leave':
        members.remove(author)
        break
      case 'gone':
        members.gone(message.peers, this.#reports.ownPeer)
        break
      case 'vouch':
        // Another relay's aikyo nodes (ours we vouch for ourselves).
        members.vouch(message.peers, now, this.#reports.ownPeer)
        break
    }
    this.reclaim()
  }

  /** The room's roster for a newcomer: everyone else, most recently heard first, in rosters of MAX_ROSTER. */
  #introduce (newcomer: string): void {
    const others = this.byRecency(newcomer)
    for (let i = 0; i < others.length; i += MAX_ROSTER) {
      this.#reports.publish({ type: 'roster', for: newcomer, peers: others.slice(i, i + MAX_ROSTER) })
      this.#reports.rosterSent()
    }
  }

  /** The aikyo nodes of this relay in the room are now these: listed, and told to the room. */
  vouch (peers: VouchedPeer[], now: number): void {
    for (const p of this.#vouched) if (!peers.some(q => q.peer === p.peer)) this.members.remove(p.peer)
    this.members.vouch(peers, now)
    this.#vouched = peers
    this.reclaim()
    this.revouch()
  }

  /** Tells the room again of the aikyo nodes this relay vouches for. */
  revouch (): void {
    for (let i = 0; i < this.#vouched.length; i += MAX_ROSTER) this.#reports.publish({ type: 'vouch', peers: this.#vouched.slice(i, i + MAX_ROSTER) })
  }
}

export function startRelayDirectory (node: Libp2p<{ pubsub: GossipSub }>, options: { log: Logger }): RelayDirectory {
  const { log } = options
  const pubsub = node.services.pubsub
  const lifetime = new Lifetime()
  const rooms = new Map<RoomName, CarriedRoom>()
  /** The stop of each room's directory topic. */
  const watching = new Map<RoomName, { stop: () => void }>()
  const memberListeners = new Listeners<RoomName>()
  let twinsRefused = 0
  let rostersSent = 0
  const ownPeer = (peerId: string): boolean => node.getConnections().some(c => c.remotePeer.toString() === peerId && c.status === 'open' && c.limits == null)
  /** Peers that connected to us and have not announced themselves since (bounded by the connections). */
  const connectedAnew = new Set<string>()
  node.addEventListener('peer:connect', (event: CustomEvent<PeerId>) => { connectedAnew.add(event.detail.toString()) }, { signal: lifetime.signal })
  node.addEventListener('peer:disconnect', (event: CustomEvent<PeerId>) => { connectedAnew.delete(event.detail.toString()) }, { signal: lifetime.signal })
  const takeNewConnection = (peerId: string): boolean => connectedAnew.delete(peerId)
  const reportsFor = (room: RoomName): RoomReports => ({
    publish: (message) => {
      void pubsub.publish(directoryTopicName(room), encodeDirectoryMessage(message)).catch((err: Error) => {
        log.warn(`directory: could not publish a ${message.type} in room ${room}: ${err.message}`)
      })
    },
    ownPeer,
    takeNewConnection,
    twin: (twin) => {
      twinsRefused++
      log.warn(`refused in room ${room}: peer ${twin.peer} presents companion ${twin.id}, which peer ${twin.holder} holds`)
    },
    rosterSent: () => { rostersSent++ },
    changed: () => { memberListeners.tell(room) }
  })

  // The aikyo nodes this relay vouches for, told again once a minute.
  lifetime.every(ANNOUNCE_REFRESH_MS, () => { for (const room of rooms.values()) room.revouch() })

  // A peer of ours that disconnected and stayed away: gone from every room it was in.
  const leaving = new Set<string>()
  node.addEventListener('peer:disconnect', (event: CustomEvent<PeerId>) => {
    const id = event.detail.toString()
    if (leaving.has(id) || ![...rooms.values()].some(r => r.members.has(id))) return
    leaving.add(id)
    lifetime.later(LEAVE_GRACE_MS, () => {
      leaving.delete(id)
      if (ownPeer(id)) return
      for (const [name, room] of rooms) {
        if (!room.members.remove(id)) continue
        room.reclaim()
        reportsFor(name).publish({ type: 'gone', peers: [id] })
      }
    })
  }, { signal: lifetime.signal })

  lifetime.every(DIRECTORY_EXPIRY_MS / 5, () => {
    const before = Date.now() - DIRECTORY_EXPIRY_MS
    for (const room of rooms.values()) {
      room.members.expire(before, ownPeer)
      room.reclaim()
    }
  })

  return {
    join: (name) => {
      if (rooms.has(name)) return
      const room = new CarriedRoom(reportsFor(name))
      rooms.set(name, room)
      watching.set(name, startDirectoryTopic(pubsub, directoryTopicName(name), (author, message) => { room.hear(author, message, Date.now()) }))
    },
    leave: (name) => {
      if (!rooms.delete(name)) return
      watching.get(name)?.stop()
      watching.delete(name)
    },
    companions: (name) => {
      const room = rooms.get(name)
      return room === undefined ? 0 : room.members.all().filter(m => room.cardOf(m) !== null).length
    },
    roster: (name) => rooms.get(name)?.byRecency().slice(0, MAX_ROSTER) ?? [],
    vouch: (name, peers) => { rooms.get(name)?.vouch(peers, Date.now()) },
    companionsOf: (name) => {
      const room = rooms.get(name)
      return room === undefined
        ? []
        : room.members.all().flatMap((m) => {
          const card = room.cardOf(m)
          return card === null ? [] : [{ peer: m.peer, card, aikyo: m.aikyo === true }]
        })
    },
    onMembers: (listener) => memberListeners.add(listener),
    claims: (name) => rooms.get(name)?.ids,
    holder: (name, id) => {
      const here = rooms.get(name)?.ids.holder(id)
      if (here !== undefined) return here
      for (const room of rooms.values()) {
        const holder = room.ids.holder(id)
        if (holder !== undefined) return holder
      }
      return undefined
    },
    get twinsRefused () { return twinsRefused },
    get rostersSent () { return rostersSent },
    stop: () => {
      lifetime.stop()
      for (const topic of watching.values()) topic.stop()
      watching.clear()
      memberListeners.clear()
    }
  }
}
