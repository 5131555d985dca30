/**
 * GossipSub as every node of ours runs it, relay, tab and headless companion
 * alike: the same options (and, through the topic bus, the same validators),
 * so a payload one node refuses is refused everywhere.
 */
import type { GossipSub, GossipsubOpts } from '@libp2p/gossipsub'
import type { Connection } from '@libp2p/interface'
import { DEFAULT_ROOM, roomTopicNames } from '../protocol/rooms.ts'
import type { RoomName } from '../protocol/rooms.ts'
import { MAX_PAYLOAD_BYTES } from '../protocol/topics.ts'

/** Bytes as a string key: their length, then one char per byte (so two keys joined cannot collide). */
const bytesKey = (bytes: Uint8Array | undefined): string => bytes === undefined ? '\u{ffff}' : String.fromCharCode(bytes.length, ...bytes)

/** Where a node is: one room (a tab, a headless companion), or every room in use, up to a number (a relay). */
export type GossipScope = { room: RoomName } | { maxRooms: number }

/** GossipSub's own accounting of one topic a peer subscribes to (its name counts too). */
const TOPIC_ENTRY_BYTES = 1024 + 128

/**
 * A relay is the hub of the rooms it carries: many of their nodes reach a
 * room through it alone (aikyo's, a tab before its direct links are up, a
 * tab whose links are all taken), so every message it forwards goes to every
 * subscriber of the topic, not to a mesh of GossipSub's usual six to twelve
 * (the others would get only IHAVE gossip, a few of them a heartbeat: in a
 * room of 25 a third of the lines never arrived). Its mesh is every peer of
 * the topic, up to as many as it can hold.
 */
const RELAY_MESH_DEGREE = 4096
const RELAY_MESH: Partial<GossipsubOpts> = { D: RELAY_MESH_DEGREE, Dlo: RELAY_MESH_DEGREE, Dhi: RELAY_MESH_DEGREE }

/**
 * Options shared by the relay, the tabs and headless companions. Message ids
 * stay GossipSub's default (author + sequence number, signed): that is what
 * aikyo's v2-line nodes use, so a message seen over two paths is recognised
 * as one.
 */
export function gossipOptions (scope: GossipScope): Partial<GossipsubOpts> {
  return {
    // A lone companion may speak before anyone listens; that is not an error.
    allowPublishToZeroTopicPeers: true,
    ...('room' in scope
      // Anything but our room's topics is junk (or another room) that would cost memory per peer.
      // A heartbeat twice a second (GossipSub's is one a second): a node that just reached its
      // relay joins the relay's mesh of its topics at its next heartbeat (the relay's own graft
      // on subscribing needs a stream that is often not open yet), and until then it gets only
      // what the relay itself publishes: other nodes' messages, such as the announcement of a
      // tab that just got its relay address (what its first WebRTC link waits for), came up to a
      // second late. A node of one room has a few peers, so its heartbeat costs little.
      ? { allowedTopics: roomTopicNames(scope.room), heartbeatInterval: 500 }
      // A relay learns of a room when a peer subscribes to it, so it takes any
      // topic; what one peer may subscribe to is bounded instead: every
      // topic of `maxRooms` rooms (another relay carries all of them).
      : { maxTopicBytesPerPeer: (scope.maxRooms + 1) * roomTopicNames(DEFAULT_ROOM).length * TOPIC_ENTRY_BYTES, ...RELAY_MESH }),
    // A node leaves its topics mostly as it goes away (a tab closing or reloading: it
    // unsubscribes as it stops), and its PRUNE asks the relay not to take it back into its
    // mesh for this long. GossipSub's 10 s kept a reloaded tab, which comes back with the
    // same peer id within a second, out of the relay's mesh: for 10 s it got its room's
    // messages only through IHAVE gossip, late, and its directory's announcements too
    // (so its first WebRTC link waited for them). 1 s is the least a PRUNE can say.
    unsubcribeBackoff: 1000,
    // Skip decoding oversize messages before they reach the validator.
    maxInboundDataLength: MAX_PAYLOAD_BYTES + 1024,
    // The same key as the message id (author + sequence number), read from
    // the raw message: a copy that arrived from another mesh peer is dropped
    // before its signature is checked again. Without it every duplicate costs
    // an Ed25519 verification, most of a busy node's time.
    fastMsgIdFn: (message) => bytesKey(message.from) + bytesKey(message.seqno),
    scoreParams: {
      // GossipSub's default scores every peer down once more than 10 share an
      // IP (a Sybil defence for public networks), and from 15 on it graylists all
      // of them: their subscriptions and messages are silently ignored. On a
      // LAN that is the normal case, not an attack: every tab of one machine,
      // every headless companion of one host, and every peer reached through a
      // relay (its circuit address carries the relay's IP) share an address.
      IPColocationFactorWeight: 0
    }
  }
}

/** GossipSub's streams on a connection (of the protocols this node's GossipSub speaks), in one direction or both. */
export function gossipStreamsOn (pubsub: Pick<GossipSub, 'protocols'>, connection: Connection, direction?: 'inbound' | 'outbound'): number {
  return connection.streams.filter(s => s.protocol !== undefined && pubsub.protocols.includes(s.protocol) && (direction === undefined || s.direction === direction)).length
}
