/**
 * Direct links between companions: peers announce their addresses by pubsub
 * peer discovery through the relays, and one side dials. Tab to tab and tab
 * to headless companion, that is the `/p2p-circuit/webrtc` address: the
 * relay's hop carries the WebRTC signalling, and the media path is direct.
 * Between two headless companions (both Node, both listening on TCP) it is
 * plain TCP, WebRTC only when that fails. Also cleans up the duplicate and
 * dead links a reloaded page leaves behind.
 */
import type { Connection, Libp2p, PeerDiscovery, PeerInfo } from '@libp2p/interface'
import { PING_PROTOCOL } from '@libp2p/ping'
import type { Multiaddr } from '@multiformats/multiaddr'
import { ANNOUNCE_INTERVAL_MS } from './announcements.ts'

export interface DirectLinksOptions {
  signal: AbortSignal
  /**
   * This node dials TCP (Node, not a page): a peer's announced TCP addresses
   * are tried before its WebRTC ones. TCP needs no signalling through the
   * relay, and WebRTC between two Node peers needs a non-loopback interface.
   */
  tcp?: boolean
}

const isWebRTC = (ma: Multiaddr): boolean => ma.getComponents().some(c => c.name === 'webrtc')
/** A plain TCP listen address: not relayed, not WebSocket, not WebRTC. */
const isTcp = (ma: Multiaddr): boolean => {
  const names = ma.getComponents().map(c => c.name)
  return names.includes('tcp') && !names.some(n => n === 'p2p-circuit' || n === 'ws' || n === 'wss' || n === 'webrtc' || n === 'webrtc-direct')
}
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
  // Dial a peer's direct addresses (TCP first where we can, then /webrtc)
  // when it announces them (every ANNOUNCE_INTERVAL_MS), unless a direct
  // connection is already open. The smaller peer id dials.
  // The larger one dials too when, although others can reach it, no
  // connection at all came for a few announcements: the smaller may still
  // hold a dead connection to our peer id from before a reload.
  const dialing = new Set<string>()
  const unanswered = new Map<string, number>()
  const directAddrs = (announced: Multiaddr[]): Multiaddr[] =>
    [...(options.tcp === true ? announced.filter(isTcp) : []), ...announced.filter(isWebRTC)]
  const reachable = (): boolean => directAddrs(node.getMultiaddrs()).length > 0
  node.services.discovery.addEventListener('peer', (event: CustomEvent<PeerInfo>) => {
    const peerId = event.detail.id.toString()
    if (peerId === selfId || dialing.has(peerId)) return
    const addrs = directAddrs(event.detail.multiaddrs)
    if (addrs.length === 0) return
    const connections = node.getConnections(event.detail.id)
    if (connections.some(isDirect)) return
    if (selfId > peerId) {
      if (connections.length > 0 || !reachable()) {
        unanswered.delete(peerId)
        return
      }
      const firstSeen = unanswered.get(peerId) ?? Date.now()
      unanswered.set(peerId, firstSeen)
      if (Date.now() - firstSeen < 3 * ANNOUNCE_INTERVAL_MS) return
    }
    unanswered.delete(peerId)
    dialing.add(peerId)
    node.dial(addrs, { signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]) })
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
