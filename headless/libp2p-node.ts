/**
 * The one place the headless companion's libp2p node is created: the tab's
 * node, in Node. It speaks TCP to relays, other headless companions and
 * aikyo nodes (found by mDNS or given as bootstrap peers), and WebRTC to
 * tabs, signalled through a relay exactly as tab to tab.
 */
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import { identify, identifyPush } from '@libp2p/identify'
import type { Identify, IdentifyPush } from '@libp2p/identify'
import type { Libp2p, PeerDiscovery, PrivateKey } from '@libp2p/interface'
import { mdns } from '@libp2p/mdns'
import { ping } from '@libp2p/ping'
import type { Ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { webRTC } from '@libp2p/webrtc'
import { createLibp2p } from 'libp2p'
import { gossipOptions } from '../p2p/gossip.ts'
import { companionAgent } from '../protocol/rooms.ts'
import type { RoomName } from '../protocol/rooms.ts'

export interface HeadlessServices extends Record<string, unknown> {
  identify: Identify
  identifyPush: IdentifyPush
  ping: Ping
  pubsub: GossipSub
  /** Present unless mDNS is switched off. */
  mdns?: PeerDiscovery
}

export type HeadlessNode = Libp2p<HeadlessServices>

export interface HeadlessNodeOptions {
  /** The room it converses in: its topics are the only ones it takes. */
  room: RoomName
  privateKey: PrivateKey
  /** Interface for the TCP listener (`0.0.0.0`: the LAN). */
  host: string
  tcpPort: number
  mdns: boolean
}

export async function createHeadlessNode (options: HeadlessNodeOptions): Promise<HeadlessNode> {
  const ip = options.host.includes(':') ? 'ip6' : 'ip4'
  return await createLibp2p<HeadlessServices>({
    privateKey: options.privateKey,
    nodeInfo: { userAgent: companionAgent(options.room) },
    addresses: {
      listen: [
        // Relays, headless companions and aikyo nodes.
        `/${ip}/${options.host}/tcp/${options.tcpPort}`,
        // A reservation on a relay, so tabs can reach us to signal WebRTC...
        '/p2p-circuit',
        // ...and the WebRTC connections they then open.
        '/webrtc'
      ]
    },
    transports: [
      tcp(),
      // No public STUN servers: LAN host candidates connect.
      webRTC({ rtcConfiguration: { iceServers: [] } }),
      circuitRelayTransport()
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      // The default accepts 5 connections per second per IP and refuses the
      // rest: companions of one host share an address and all dial a newcomer
      // within the same announcement.
      inboundConnectionThreshold: 100,
      maxIncomingPendingConnections: 64
    },
    services: {
      identify: identify(),
      identifyPush: identifyPush({ runOnLimitedConnection: true }),
      ping: ping(),
      // The room's topics, and its directory, where the others announce their addresses (p2p/room-directory.ts).
      pubsub: gossipsub(gossipOptions({ room: options.room })),
      ...(options.mdns ? { mdns: mdns() } : {})
    }
  })
}
