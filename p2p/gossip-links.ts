/**
 * Keeps every GossipSub peering two-way when a peer holds more than one
 * connection to us (two sides dialled at once, a reloaded tab, a relay and a
 * direct path...).
 *
 * GossipSub opens its streams on the first connection it is told about and
 * is told only once per peer. When that connection closes while another to
 * the same peer stays open, its streams die with it and none are opened
 * again: the peer stays "connected" and subscribed, but nothing more flows
 * (js-libp2p 3531 leaves this case as a follow-up). The only way back with
 * the public API is a fresh connection, so this closes the peer's remaining
 * connections: both sides forget the peer, and whoever keeps the link
 * (a held peer, direct links, LAN peers, a tab's relay) dials again.
 */
import type { GossipSub } from '@libp2p/gossipsub'
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'
import { Lifetime } from './lifetime.ts'

/** Time for a stream GossipSub is opening on a new connection to appear, before the peering counts as broken. */
export const GOSSIP_STREAM_GRACE_MS = 1000

export interface GossipLinks {
  /** Stops watching: its listener and pending checks are removed. */
  stop: () => void
}

export function startGossipLinks (node: Libp2p<{ pubsub: GossipSub }>, onBroken: (peerId: string) => void = () => {}): GossipLinks {
  const pubsub = node.services.pubsub
  const lifetime = new Lifetime()
  const carriesGossip = (c: Connection): boolean =>
    c.status === 'open' && c.streams.some(s => s.direction === 'outbound' && pubsub.protocols.includes(s.protocol))
  // GossipSub still counts the peer (a connection is left) but no connection
  // carries its stream to the peer: it died with the closed connection.
  const broken = (peer: PeerId): boolean =>
    pubsub.getPeers().some(p => p.equals(peer)) && !node.getConnections(peer).some(carriesGossip)
  node.addEventListener('connection:close', (event: CustomEvent<Connection>) => {
    const peer = event.detail.remotePeer
    if (!broken(peer)) return
    lifetime.later(GOSSIP_STREAM_GRACE_MS, () => {
      const left = node.getConnections(peer).filter(c => c.status === 'open')
      if (left.length === 0 || !broken(peer)) return
      onBroken(peer.toString())
      for (const c of left) {
        void c.close().catch(() => { c.abort(new Error('gossip streams lost with another connection')) })
      }
    })
  }, { signal: lifetime.signal })
  return { stop: () => { lifetime.stop() } }
}
