/**
 * What the page knows about its node. The network module writes it from the
 * page's first moment; components only read it (they never import libp2p).
 * Its fields are watched fields (web/watched-fields.ts), not Svelte state:
 * the page's first load carries no Svelte, and the view makes reading them
 * reactive once it is drawn.
 */
import { DEFAULT_ROOM } from '../protocol/rooms.ts'
import type { RoomName } from '../protocol/rooms.ts'
import type { RoomSummary } from '../protocol/relay-api.ts'
import { TOPICS } from '../protocol/topics.ts'
import type { Topic } from '../protocol/topics.ts'
import type { ConnectionKind } from './connection-kind.ts'
import { watchedFields } from './watched-fields.ts'

export type RelayStatus =
  | 'starting' // fetching the relay's address, creating the node
  | 'connecting' // dialling the relay
  | 'connected' // WebSocket to the relay open, no reservation yet
  | 'reserved' // reachable by other tabs through the relay
  | 'offline' // relay unreachable; retrying

/**
 * A private room's lock: `open` with its key; `locked` until the person
 * gives its passphrase; `unlocking` while the key is made from it;
 * `insecure` where the page has no WebCrypto (not a secure context).
 * `none`: the room is not private.
 */
export type RoomLock = 'none' | 'locked' | 'unlocking' | 'open' | 'insecure'

export interface PeerView {
  /** The connection's id (a peer may have several connections). */
  id: string
  peerId: string
  kind: ConnectionKind
  remoteAddr: string
  direction: 'inbound' | 'outbound'
}

export interface LogEntry {
  seq: number
  topic: Topic
  /** ms since the epoch */
  time: number
  /** The payload's JSON text as it travelled. */
  text: string
  /** Published by this tab. */
  own: boolean
}

/** Oldest entries fall off the log beyond this. */
export const LOG_LIMIT = 300

/** What NetworkState holds (each field watched; replaced, never changed in place). */
export interface NetworkFields {
  /** The room this tab converses in. */
  room: RoomName
  /** The rooms the relay carries, with their companions on that relay (refreshed now and then). */
  rooms: RoomSummary[]
  peerId: string
  /** The relay this tab holds now (it moves to another when its relay dies). */
  relayPeerId: string
  /** Every relay this tab could use: the one that served it and its LAN neighbours. */
  knownRelays: string[]
  relayStatus: RelayStatus
  /** Why the relay is not reachable, when it is not. */
  relayError: string
  peers: PeerView[]
  log: LogEntry[]
  counts: Record<Topic, number>
  /** Payloads refused by the topic validators. */
  refused: number
  /** A private room's lock, and why the last key tried would not do. */
  lock: RoomLock
  lockProblem: string
  /** A private room's secret, for its share link ('' until it is open). */
  roomSecret: string
  /** Payloads of a private room (live or its history) that its key here does not open. */
  unreadable: number
  /** Last ping round trip per peer id (ms). */
  rtt: Record<string, number>
  /** The STUN/TURN URLs this node uses. */
  iceServers: string[]
}

export class NetworkState extends watchedFields<NetworkFields>(() => ({
  room: DEFAULT_ROOM,
  rooms: [],
  peerId: '',
  relayPeerId: '',
  knownRelays: [],
  relayStatus: 'starting',
  relayError: '',
  peers: [],
  log: [],
  counts: Object.fromEntries(TOPICS.map(t => [t, 0])) as Record<Topic, number>,
  refused: 0,
  lock: 'none',
  lockProblem: '',
  roomSecret: '',
  unreadable: 0,
  rtt: {},
  iceServers: []
})) {
  #seq = 0

  record (topic: Topic, text: string, own: boolean): void {
    const entry: LogEntry = { seq: ++this.#seq, topic, time: Date.now(), text, own }
    this.log = this.log.length >= LOG_LIMIT ? [...this.log.slice(1 - LOG_LIMIT), entry] : [...this.log, entry]
    this.counts = { ...this.counts, [topic]: this.counts[topic] + 1 }
  }
}
