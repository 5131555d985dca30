/**
 * js-libp2p's pubsub-peer-discovery topic, carried by the relay. A browser
 * app made of plain js-libp2p, as js-libp2p's own examples are, finds other
 * tabs by broadcasting its addresses on this topic; it reaches them only
 * through a relay subscribed to it. Ours is, so such a page works beside
 * ours on a kotoba relay (the p2p benchmark's bare page is one). A record of
 * a peer's addresses is small: a message over MAX_RECORD_BYTES is refused.
 */
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'

export const PEER_DISCOVERY_TOPIC = '_peer-discovery._p2p._pubsub'
const MAX_RECORD_BYTES = 4096

/** Subscribes to the topic, with its size check. Returns the stop. */
export function carryPeerDiscovery (pubsub: GossipSub): () => void {
  pubsub.topicValidators.set(PEER_DISCOVERY_TOPIC, (_peer, message) =>
    message.data.byteLength <= MAX_RECORD_BYTES ? TopicValidatorResult.Accept : TopicValidatorResult.Reject)
  pubsub.subscribe(PEER_DISCOVERY_TOPIC)
  return () => {
    pubsub.unsubscribe(PEER_DISCOVERY_TOPIC)
    pubsub.topicValidators.delete(PEER_DISCOVERY_TOPIC)
  }
}
