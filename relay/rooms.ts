/**
 * The rooms a relay carries: the default room always, and every room a peer
 * (a tab, a headless companion, another relay) subscribes to or a firehose
 * client asks for, up to `maxRooms` at once. A named room nobody but other
 * relays is in any more is left after a while, so a relay's work follows
 * the rooms in use. Relays of one LAN mesh follow each other: a room joined
 * on one is subscribed to on its neighbours, so the room spans the mesh.
 */
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { DEFAULT_ROOM, isPrivateRoom, roomOfTopicName, roomTopicNames } from '../protocol/rooms.ts'
import type { RoomSummary } from '../protocol/relay-api.ts'
import type { RoomName } from '../protocol/rooms.ts'
import type { TopicBus } from '../p2p/topic-bus.ts'
import type { Logger } from '../p2p/logger.ts'
import { Lifetime } from '../p2p/lifetime.ts'

export interface RelayRooms {
  /** Joins a room for a firehose client (or says why not: the relay carries `maxRooms` already). */
  want: (room: RoomName) => { ok: true } | { ok: false, message: string }
  /** A firehose client stopped watching a room it wanted. */
  release: (room: RoomName) => void
  /** The rooms carried now, the default room first, then by name. */
  list: () => RoomSummary[]
  /** The rooms shown to whoever asks (`/api/relay`, the firehose's info): `list` less private rooms. */
  listed: () => RoomSummary[]
  /** Rooms asked for but not carried (over `maxRooms`), since start. */
  readonly refused: number
  stop: () => void
}

export interface RelayRoomsOptions {
  maxRooms: number
  /** Other relays: their subscriptions alone do not keep a room in use. */
  isRelay: (peerId: string) => boolean
  log: Logger
  /** A named room nobody is in is left after this long (ms). */
  idleMs?: number
  /** Told of each room joined (the default room first, at once). */
  onJoin?: (room: RoomName) => void
  /** Told of each room left. */
  onLeave?: (room: RoomName) => void
  /** The companions in a room. */
  companionsIn: (room: RoomName) => number
}

export function startRelayRooms (node: Libp2p<{ pubsub: GossipSub }>, bus: TopicBus, options: RelayRoomsOptions): RelayRooms {
  const pubsub = node.services.pubsub
  const { maxRooms, isRelay, log, idleMs = 60_000, onJoin = () => {}, onLeave = () => {}, companionsIn } = options
  /** Named rooms joined, with when they were last seen in use. */
  const lastUsed = new Map<RoomName, number>()
  /** Firehose clients watching each room. */
  const watchers = new Map<RoomName, number>()
  let refused = 0
  const warned = new Set<RoomName>()

  bus.join(DEFAULT_ROOM)
  onJoin(DEFAULT_ROOM)

  const join = (room: RoomName): boolean => {
    if (room === DEFAULT_ROOM) return true
    if (lastUsed.has(room)) {
      lastUsed.set(room, Date.now())
      return true
    }
    if (lastUsed.size + 1 >= maxRooms) {
      refused++
      if (!warned.has(room)) log.warn(`rooms: not carrying room ${room}: this relay carries ${maxRooms} rooms already (--max-rooms)`)
      // Said once a room; the names remembered for that are bounded too.
      if (warned.size >= maxRooms) warned.clear()
      warned.add(room)
      return false
    }
    lastUsed.set(room, Date.now())
    bus.join(room)
    onJoin(room)
    log.info(`rooms: carrying room ${room}`)
    return true
  }

  const leave = (room: RoomName): void => {
    lastUsed.delete(room)
    bus.leave(room)
    log.info(`rooms: left room ${room} (nobody in it)`)
    onLeave(room)
  }

  const onSubscriptionChange = (event: CustomEvent<{ peerId: PeerId, subscriptions: Array<{ topic: string, subscribe: boolean }> }>): void => {
    // Another relay's rooms are its peers' business: this one carries a room
    // when a peer of its own is in it (the relays then share its topics).
    if (isRelay(event.detail.peerId.toString())) return
    for (const { topic, subscribe } of event.detail.subscriptions) {
      if (!subscribe) continue
      const room = roomOfTopicName(topic)
      if (room !== undefined) join(room)
    }
  }
  const lifetime = new Lifetime()
  pubsub.addEventListener('subscription-change', onSubscriptionChange, { signal: lifetime.signal })

  /** Whether anyone but other relays is subscribed to one of the room's topics, or a firehose client watches it. */
  const inUse = (room: RoomName): boolean =>
    (watchers.get(room) ?? 0) > 0 ||
    roomTopicNames(room).some(topic => pubsub.getSubscribers(topic).some(peer => !isRelay(peer.toString())))

  lifetime.every(Math.min(idleMs, 30_000), () => {
    const now = Date.now()
    for (const [room, used] of lastUsed) {
      if (inUse(room)) lastUsed.set(room, now)
      else if (now - used >= idleMs) leave(room)
    }
  })

  const list = (): RoomSummary[] => [DEFAULT_ROOM, ...[...lastUsed.keys()].sort()].map(name => ({ name, companions: companionsIn(name) }))
  return {
    want: (room) => {
      if (!join(room)) return { ok: false, message: `this relay carries ${maxRooms} rooms already; try again when one is free` }
      watchers.set(room, (watchers.get(room) ?? 0) + 1)
      return { ok: true }
    },
    release: (room) => {
      const left = (watchers.get(room) ?? 0) - 1
      if (left > 0) watchers.set(room, left)
      else watchers.delete(room)
    },
    list,
    listed: () => list().filter(r => !isPrivateRoom(r.name as RoomName)),
    get refused () { return refused },
    stop: () => { lifetime.stop() }
  }
}
