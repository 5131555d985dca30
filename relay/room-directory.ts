/**
 * The relay's side of each room's directory (protocol/directory.ts): it
 * carries the directory topic of every room it carries, keeps who is in each
 * room (their last announcement), and
 * - introduces newcomers: when a peer of its own announces itself in a room
 *   for the first time, the relay sends the room's roster (everyone else, in
 *   rosters of at most MAX_ROSTER), so the newcomer links and knows every card
 *   at once while everyone else goes on announcing only once a minute;
 * - tells the room who is gone: a peer of its own that disconnected and did
 *   not come back within LEAVE_GRACE_MS;
 * - counts the companions of each room, across the mesh (`/api/relay`);
 * - knows who holds each companion id in each room (protocol/claims.ts): the
 *   first peer that announced it; a second peer announcing a held id is a
 *   twin, refused: its card is listed nowhere (rosters, counts) and payloads
 *   speaking as that id from anyone but the holder are dropped.
 */
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { LEAVE_GRACE_MS } from '../p2p/presence.ts'
import { ANNOUNCE_REFRESH_MS, DIRECTORY_EXPIRY_MS, watchDirectory } from '../p2p/room-directory.ts'
import { createIdClaims } from '../protocol/claims.ts'
import type { IdClaims } from '../protocol/claims.ts'
import { MAX_MEMBERS, MAX_ROSTER, encodeDirectoryMessage } from '../protocol/directory.ts'
import type { DirectoryMessage, RosterEntry } from '../protocol/directory.ts'
import type { CompanionCard } from '../protocol/payloads.ts'
import { directoryTopicName } from '../protocol/rooms.ts'
import type { RoomName } from '../protocol/rooms.ts'
import type { Logger } from '../p2p/logger.ts'

interface Member extends RosterEntry { heard: number }

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

export function startRelayDirectory (node: Libp2p<{ pubsub: GossipSub }>, options: { log: Logger }): RelayDirectory {
  const { log } = options
  const pubsub = node.services.pubsub
  const rooms = new Map<RoomName, Map<string, Member>>()
  /** Per room: who holds which companion id, and the peers refused as twins. */
  const claims = new Map<RoomName, { ids: IdClaims, twins: Set<string> }>()
  let twinsRefused = 0
  /** The stop of each room's directory topic. */
  const watching = new Map<RoomName, () => void>()
  let rostersSent = 0

  const publish = (room: RoomName, message: DirectoryMessage): void => {
    void pubsub.publish(directoryTopicName(room), encodeDirectoryMessage(message)).catch((err: Error) => {
      log.warn(`directory: could not publish a ${message.type} in room ${room}: ${err.message}`)
    })
  }

  const ownPeer = (peerId: string): boolean => node.getConnections().some(c => c.remotePeer.toString() === peerId && c.status === 'open' && c.limits == null)

  /** The room's claims again, after its members changed: a new twin is logged and counted. */
  const reclaim = (room: RoomName): void => {
    const members = rooms.get(room)
    const held = claims.get(room)
    if (members === undefined || held === undefined) return
    const presented = new Map([...members.values()].flatMap(m => m.card === null ? [] : [[m.peer, m.card.id] as const]))
    const twins = held.ids.update(presented)
    for (const twin of twins) {
      if (held.twins.has(twin.peer)) continue
      twinsRefused++
      log.warn(`refused in room ${room}: peer ${twin.peer} presents companion ${twin.id}, which peer ${twin.holder} holds`)
    }
    held.twins = new Set(twins.map(t => t.peer))
    for (const listener of memberListeners) listener(room)
  }
  const memberListeners = new Set<(room: RoomName) => void>()
  /** A member's card as others may see it: none for a twin. */
  const cardOf = (room: RoomName, m: Member): RosterEntry['card'] => claims.get(room)?.twins.has(m.peer) === true ? null : m.card

  /** Members, most recently heard first, as roster entries. */
  const byRecency = (room: RoomName, members: Map<string, Member>, except?: string): RosterEntry[] =>
    [...members.values()].filter(m => m.peer !== except).sort((a, b) => b.heard - a.heard).map(m => {
      const entry: RosterEntry = { peer: m.peer, addrs: m.addrs, card: cardOf(room, m) }
      if (m.aikyo === true) entry.aikyo = true
      return entry
    })

  /** The room's roster for a newcomer: everyone else, most recently heard first, in rosters of MAX_ROSTER. */
  const introduce = (room: RoomName, members: Map<string, Member>, newcomer: string): void => {
    const others = byRecency(room, members, newcomer)
    for (let i = 0; i < others.length; i += MAX_ROSTER) {
      publish(room, { type: 'roster', for: newcomer, peers: others.slice(i, i + MAX_ROSTER) })
      rostersSent++
    }
  }

  const onMessage = (room: RoomName, author: string, message: DirectoryMessage): void => {
    const members = rooms.get(room)
    if (members === undefined) return
    const now = Date.now()
    switch (message.type) {
      case 'announce': {
        const known = members.get(author)
        if (known === undefined && members.size >= MAX_MEMBERS) return
        members.set(author, { peer: author, addrs: message.addrs, card: message.card, heard: now })
        reclaim(room)
        // A newcomer (or one back after it expired), reached through us: introduce it.
        if ((known === undefined || known.heard < now - DIRECTORY_EXPIRY_MS) && ownPeer(author)) introduce(room, members, author)
        break
      }
      case 'roster':
        // Another relay's introduction: it tells us of peers we may not have heard yet.
        for (const p of message.peers) {
          if (!members.has(p.peer) && members.size < MAX_MEMBERS) members.set(p.peer, { ...p, heard: now })
        }
        break
      case 'leave':
        members.delete(author)
        break
      case 'gone':
        for (const peer of message.peers) if (!ownPeer(peer)) members.delete(peer)
        break
      case 'vouch':
        // Another relay's aikyo nodes.
        for (const p of message.peers) {
          if (!ownPeer(p.peer) && (members.has(p.peer) || members.size < MAX_MEMBERS)) members.set(p.peer, { ...p, aikyo: true, heard: now })
        }
        break
    }
    reclaim(room)
  }

  /** Per room, the aikyo nodes this relay vouches for; told again once a minute. */
  const vouched = new Map<RoomName, VouchedPeer[]>()
  const sendVouch = (room: RoomName): void => {
    const peers = vouched.get(room) ?? []
    for (let i = 0; i < peers.length; i += MAX_ROSTER) publish(room, { type: 'vouch', peers: peers.slice(i, i + MAX_ROSTER) })
  }
  const revouch = setInterval(() => { for (const room of vouched.keys()) sendVouch(room) }, ANNOUNCE_REFRESH_MS)
  revouch.unref()

  // A peer of ours that disconnected and stayed away: gone from every room it was in.
  const leaving = new Map<string, ReturnType<typeof setTimeout>>()
  const onDisconnect = (event: CustomEvent<PeerId>): void => {
    const id = event.detail.toString()
    if (leaving.has(id) || ![...rooms.values()].some(m => m.has(id))) return
    leaving.set(id, setTimeout(() => {
      leaving.delete(id)
      if (ownPeer(id)) return
      for (const [room, members] of rooms) {
        if (!members.delete(id)) continue
        reclaim(room)
        publish(room, { type: 'gone', peers: [id] })
      }
    }, LEAVE_GRACE_MS))
  }
  node.addEventListener('peer:disconnect', onDisconnect)

  const sweep = setInterval(() => {
    const before = Date.now() - DIRECTORY_EXPIRY_MS
    for (const [room, members] of rooms) {
      for (const [peer, m] of members) if (m.heard < before && !ownPeer(peer)) members.delete(peer)
      reclaim(room)
    }
  }, DIRECTORY_EXPIRY_MS / 5)
  sweep.unref()

  return {
    join: (room) => {
      if (rooms.has(room)) return
      rooms.set(room, new Map())
      claims.set(room, { ids: createIdClaims(), twins: new Set() })
      watching.set(room, watchDirectory(pubsub, directoryTopicName(room), (author, message) => { onMessage(room, author, message) }))
    },
    leave: (room) => {
      if (!rooms.delete(room)) return
      claims.delete(room)
      watching.get(room)?.()
      watching.delete(room)
    },
    companions: (room) => [...(rooms.get(room)?.values() ?? [])].filter(m => cardOf(room, m) !== null).length,
    roster: (room) => {
      const members = rooms.get(room)
      return members === undefined ? [] : byRecency(room, members).slice(0, MAX_ROSTER)
    },
    vouch: (room, peers) => {
      const members = rooms.get(room)
      if (members === undefined) return
      const now = Date.now()
      const before = vouched.get(room) ?? []
      for (const p of before) if (!peers.some(q => q.peer === p.peer)) members.delete(p.peer)
      for (const p of peers) members.set(p.peer, { ...p, aikyo: true, heard: now })
      vouched.set(room, peers)
      reclaim(room)
      sendVouch(room)
    },
    companionsOf: (room) => [...(rooms.get(room)?.values() ?? [])].flatMap((m) => {
      const card = cardOf(room, m)
      return card === null ? [] : [{ peer: m.peer, card, aikyo: m.aikyo === true }]
    }),
    onMembers: (listener) => { memberListeners.add(listener); return () => { memberListeners.delete(listener) } },
    claims: (room) => claims.get(room)?.ids,
    holder: (room, id) => {
      const here = claims.get(room)?.ids.holder(id)
      if (here !== undefined) return here
      for (const held of claims.values()) {
        const holder = held.ids.holder(id)
        if (holder !== undefined) return holder
      }
      return undefined
    },
    get twinsRefused () { return twinsRefused },
    get rostersSent () { return rostersSent },
    stop: () => {
      clearInterval(sweep)
      clearInterval(revouch)
      for (const t of leaving.values()) clearTimeout(t)
      for (const stop of watching.values()) stop()
      node.removeEventListener('peer:disconnect', onDisconnect)
    }
  }
}
