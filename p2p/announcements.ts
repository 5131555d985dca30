/**
 * How nodes hear of each other's direct addresses: every node (relay, tab,
 * headless companion) announces its addresses on the peer-discovery topic
 * every ANNOUNCE_INTERVAL_MS (pubsub peer discovery, carried by the relays'
 * GossipSub), and tabs and headless companions dial what they hear
 * (direct-links.ts). One interval for every node: a peer heard from for a few
 * intervals but never connected is a peer to act on.
 */
import { pubsubPeerDiscovery } from '@libp2p/pubsub-peer-discovery'
import { discoveryTopicName } from '../protocol/rooms.ts'
import type { RoomName } from '../protocol/rooms.ts'

/** 1 s lets a new tab find the others in about a second. */
export const ANNOUNCE_INTERVAL_MS = 1000

/**
 * The announcing service. Tabs and headless companions run it as a service
 * (not a `peerDiscovery` entry): libp2p turns those into `peer:discovery`
 * only the first time a peer id is seen, and a reloaded tab comes back with
 * the same peer id, so they need every announcement.
 * Each room has its own discovery topic: companions link directly only to
 * companions of their room. A relay announces in the default room.
 */
export function announcements (room: RoomName): ReturnType<typeof pubsubPeerDiscovery> {
  return pubsubPeerDiscovery({ interval: ANNOUNCE_INTERVAL_MS, topics: [discoveryTopicName(room)] })
}
