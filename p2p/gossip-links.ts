/**
 * Keeps every GossipSub peering two-way when a peer holds more than one
 * connection to us (two sides dialled at once, a reloaded tab, a direct
 * link settled as a duplicate...), without closing the link that is left.
 *
 * GossipSub opens its outbound stream to a peer on a connection it is told
 * about, and is told of each connection once, when identify completes on
 * it. When the connection carrying that stream closes while another to the
 * same peer stays open, the stream dies with it and GossipSub opens none on
 * its own: the peer stays "connected" and subscribed, but nothing more flows
 * to it (js-libp2p 3531). So the remaining connection is identified again:
 * GossipSub is told of it, and opens its stream there (the peer's side does
 * the same on seeing ours). Only when that does not bring a stream back, or
 * the peer is left with relayed connections only (GossipSub does not run on
 * those), are its connections closed, for whoever keeps the link to dial
 * again: a flap that presence's grace has to hide, so the last resort.
 */
import type { GossipSub } from '@libp2p/gossipsub'
import type { Identify } from '@libp2p/identify'
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'
import { gossipStreamsOn } from './gossip.ts'
import { Lifetime } from './lifetime.ts'

/** Time for a stream GossipSub is opening on a connection to appear, before the peering counts as broken (and again after a repair). */
export const GOSSIP_STREAM_GRACE_MS = 1000

export type GossipNode = Libp2p<{ pubsub: GossipSub, identify?: Identify }>

export interface GossipLinks {
  /** Stops watching: its listener and pending checks are removed. */
  stop: () => void
}

export interface GossipLinkEvents {
  /** GossipSub's stream to the peer was opened again on a connection still open. */
  onRepaired?: (peerId: string) => void
  /** It could not be: the peer's connections were closed, for it to be dialled again. */
  onBroken?: (peerId: string) => void
}

export function startGossipLinks (node: GossipNode, events: GossipLinkEvents = {}): GossipLinks {
  const pubsub = node.services.pubsub
  const lifetime = new Lifetime()
  const carriesGossip = (c: Connection): boolean => c.status === 'open' && gossipStreamsOn(pubsub, c, 'outbound') > 0
  // GossipSub still counts the peer (a connection is left) but no connection
  // carries its stream to the peer: it died with the closed connection.
  const broken = (peer: PeerId): boolean =>
    pubsub.getPeers().some(p => p.equals(peer)) && !node.getConnections(peer).some(carriesGossip)
  const open = (peer: PeerId): Connection[] => node.getConnections(peer).filter(c => c.status === 'open')

  const closeAll = (peer: PeerId): void => {
    const left = open(peer)
    if (left.length === 0) return
    events.onBroken?.(peer.toString())
    for (const c of left) void c.close().catch(() => { c.abort(new Error('gossip streams lost with another connection')) })
  }
  /** Tries twice (identify, like ping, allows one stream at a time on a connection), then gives up. */
  const repair = async (peer: PeerId, attempt = 1): Promise<void> => {
    // The newest connection GossipSub may run on: told of it again, it opens its stream there.
    const usable = open(peer).filter(c => c.limits == null).sort((a, b) => b.timeline.open - a.timeline.open)[0]
    const identify = node.services.identify
    if (usable === undefined || identify === undefined) return closeAll(peer)
    const identified = await identify.identify(usable, { signal: AbortSignal.any([lifetime.signal, AbortSignal.timeout(5000)]) }).then(() => true, () => false)
    lifetime.later(GOSSIP_STREAM_GRACE_MS, () => {
      if (!broken(peer)) {
        if (identified) events.onRepaired?.(peer.toString())
      } else if (attempt < 2) void repair(peer, attempt + 1)
      else closeAll(peer)
    })
  }

  const pending = new Set<string>()
  node.addEventListener('connection:close', (event: CustomEvent<Connection>) => {
    const peer = event.detail.remotePeer
    if (pending.has(peer.toString()) || !broken(peer)) return
    pending.add(peer.toString())
    lifetime.later(GOSSIP_STREAM_GRACE_MS, () => {
      pending.delete(peer.toString())
      if (open(peer).length === 0 || !broken(peer)) return
      void repair(peer)
    })
  }, { signal: lifetime.signal })
  return { stop: () => { lifetime.stop() } }
}
