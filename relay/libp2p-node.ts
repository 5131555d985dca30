/**
 * The one place the relay's libp2p node is created. Every transport,
 * listener and service below has the reason it is there.
 */
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Identify } from '@libp2p/identify'
import type { Libp2p, PeerDiscovery, PrivateKey } from '@libp2p/interface'
import { mdns } from '@libp2p/mdns'
import { ping } from '@libp2p/ping'
import type { Ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'
import { gossipOptions } from '../p2p/gossip.ts'
import { KOTOBA_AGENT } from '../protocol/topics.ts'
import type { RelayOptions } from './options.ts'

export interface RelayServices extends Record<string, unknown> {
  identify: Identify
  ping: Ping
  pubsub: GossipSub
  relay: CircuitRelayService
  /** Present unless mDNS is switched off. */
  mdns?: PeerDiscovery
}

export type RelayNode = Libp2p<RelayServices>

/** `tls`: the WebSocket listener browsers dial is on TLS (`/tls/ws`, wss://) with this certificate. */
export async function createRelayNode (options: RelayOptions, privateKey: PrivateKey, tls?: { cert: string, key: string }): Promise<RelayNode> {
  const ip = options.host.includes(':') ? 'ip6' : 'ip4'
  return await createLibp2p<RelayServices>({
    // Tells peers of another make (aikyo) from ours; see p2p/presence.ts.
    nodeInfo: { userAgent: KOTOBA_AGENT },
    privateKey,
    addresses: {
      listen: [
        // LAN peers: other relays, headless companions, aikyo nodes.
        `/${ip}/${options.host}/tcp/${options.tcpPort}`,
        // Browsers can only dial WebSockets (no raw TCP in a page).
        `/${ip}/${options.host}/tcp/${options.wsPort}/${tls === undefined ? '' : 'tls/'}ws`
      ]
    },
    transports: [tcp(), webSockets(tls === undefined ? {} : { https: { cert: tls.cert, key: tls.key } })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      maxConnections: options.maxConnections,
      // The default (5 per second per host) refuses the 6th tab opened within a
      // second; every tab of a LAN host shares that host's address.
      inboundConnectionThreshold: Math.max(100, options.maxReservations),
      maxIncomingPendingConnections: 256
    },
    services: {
      // Required by circuit relay, WebRTC signalling and GossipSub.
      identify: identify(),
      // Round-trip times for the page's network panel.
      ping: ping(),
      pubsub: gossipsub(gossipOptions({ maxRooms: options.maxRooms })),
      relay: circuitRelayServer({
        // The relayed hop only carries WebRTC signalling between tabs, so the
        // per-connection limits can stay at their defaults; what a LAN full
        // of tabs needs is many reservations and many hop streams.
        maxInboundHopStreams: 256,
        maxOutboundStopStreams: 256,
        reservations: { maxReservations: options.maxReservations }
      }),
      ...(options.mdns ? { mdns: mdns() } : {})
    }
  })
}
