/**
 * What kind of link a connection is, from its remote address: what the
 * network panel shows next to each peer.
 */
import type { Multiaddr } from '@multiformats/multiaddr'

export type ConnectionKind = 'webrtc' | 'relayed' | 'websocket' | 'tcp' | 'other'

export const CONNECTION_KIND_LABELS: Record<ConnectionKind, string> = {
  webrtc: 'direct WebRTC',
  relayed: 'relayed',
  websocket: 'WebSocket to relay',
  tcp: 'TCP',
  other: 'other'
}

/**
 * `limited` is libp2p's flag for data- or time-limited links (a circuit-relay
 * hop). A WebRTC connection's address still names the relay that signalled
 * it (`…/p2p-circuit/webrtc/…`), yet the media path is direct.
 */
export function connectionKind (remoteAddr: Multiaddr, limited: boolean): ConnectionKind {
  const names = new Set(remoteAddr.getComponents().map(c => c.name))
  if (limited) return 'relayed'
  if (names.has('webrtc') || names.has('webrtc-direct')) return 'webrtc'
  if (names.has('p2p-circuit')) return 'relayed'
  if (names.has('ws') || names.has('wss')) return 'websocket'
  if (names.has('tcp')) return 'tcp'
  return 'other'
}
