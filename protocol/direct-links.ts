/**
 * Direct links between companions (tab to tab, tab to headless companion):
 * peers announce their `/p2p-circuit/webrtc` addresses by pubsub peer
 * discovery through the relays; one side dials, the relay's hop carries the
 * WebRTC signalling, and the media path is direct. Also cleans up the
 * duplicate and dead links a reloaded page leaves behind.
 */
import type { Connection, Libp2p, PeerDiscovery, PeerInfo } from '@libp2p/interface'
import { PING_PROTOCOL } from '@libp2p/ping'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface DirectLinksOptions {
  signal: AbortSignal
  /** How often peers announce themselves (ms): the larger id waits a few of these before it dials. */
  announceInterval: number
}

const isWebRTC = (ma: Multiaddr): boolean => ma.getComponents().some(c => c.name === 'webrtc')
const isWebRTCConnection = (c: Connection): boolean => c.limits == null && isWebRTC(c.remoteAddr)
/** Open and not relayed: WebRTC, or TCP between two Node peers. */
const isDirect = (c: Connection): boolean => c.status === 'open' && c.limits == null

/** Whether the far end still answers on this connection (a protocol negotiation, within 3 s). */
async function probe (connection: Connection): Promise<boolean> {
  try {
    const stream = await connection.newStream(PING_PROTOCOL, { signal: AbortSignal.timeout(3000) })
    await stream.close({ signal: AbortSignal.timeout(1000) }).catch(() => { stream.abort(new Error('probe done')) })
    return true
  } catch {
    return false
  }
}

/** `node.services.discovery` is pubsub peer discovery, run as a service so every announcement is heard. */
export function keepDirectLinks (node: Libp2p<{ discovery: PeerDiscovery }>, options: DirectLinksOptions): void {
  const { signal } = options
  const selfId = node.peerId.toString()
  // Dial a peer's /webrtc address when it announces it (every announceInterval),
  // unless a direct connection is already open. The smaller peer id dials.
  // The larger one dials too when, although others can reach it, no
  // connection at all came for a few announcements: the smaller may still
  // hold a dead connection to our peer id from before a reload.
  const dialing = new Set<string>()
  const unanswered = new Map<string, number>()
  const reachable = (): boolean => node.getMultiaddrs().some(isWebRTC)
  node.services.discovery.addEventListener('peer', (event: CustomEvent<PeerInfo>) => {
    const peerId = event.detail.id.toString()
    if (peerId === selfId || dialing.has(peerId)) return
    const webrtcAddrs = event.detail.multiaddrs.filter(isWebRTC)
    if (webrtcAddrs.length === 0) return
    const connections = node.getConnections(event.detail.id)
    if (connections.some(isDirect)) return
    if (selfId > peerId) {
      if (connections.length > 0 || !reachable()) {
        unanswered.delete(peerId)
        return
      }
      const firstSeen = unanswered.get(peerId) ?? Date.now()
      unanswered.set(peerId, firstSeen)
      if (Date.now() - firstSeen < 3 * options.announceInterval) return
    }
    unanswered.delete(peerId)
    dialing.add(peerId)
    node.dial(webrtcAddrs, { signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]) })
      .catch(() => { /* the next announcement retries */ })
      .finally(() => { dialing.delete(peerId) })
  })

  // A reloaded tab has the same peer id. When a peer opens a new connection
  // while we still hold a WebRTC connection to it, that one may have died
  // with the old page (Chromium notices only after ICE consent fails, ~30 s):
  // probe it, and close it if it does not answer. If both are alive and
  // direct, the two tabs dialled each other at once: both sides close the
  // one the larger peer id dialled, so exactly one stays.
  const probing = new Set<string>()
  const dialler = (c: Connection): string => c.direction === 'outbound' ? selfId : c.remotePeer.toString()
  node.addEventListener('connection:open', (event: CustomEvent<Connection>) => {
    const fresh = event.detail
    for (const older of node.getConnections(fresh.remotePeer)) {
      if (older.id === fresh.id || probing.has(older.id) || !isWebRTCConnection(older)) continue
      probing.add(older.id)
      void probe(older).then((alive) => {
        if (older.status !== 'open') return
        if (!alive) {
          older.abort(new Error('no answer after the peer reconnected: the connection was left by a previous page'))
          return
        }
        if (!isWebRTCConnection(fresh) || fresh.status !== 'open') return
        const surplus = dialler(fresh) === dialler(older) || dialler(fresh) > dialler(older) ? fresh : older
        void surplus.close().catch(() => { surplus.abort(new Error('duplicate connection')) })
      }).finally(() => { probing.delete(older.id) })
    }
  })
}
