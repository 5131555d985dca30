/**
 * The one place the tab's libp2p node is created: a companion in the browser.
 * Every transport, listener and service below has the reason it is there.
 */
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import { identify, identifyPush } from '@libp2p/identify'
import type { Identify, IdentifyPush } from '@libp2p/identify'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { ping } from '@libp2p/ping'
import type { Ping } from '@libp2p/ping'
import { webRTC } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'
import { gossipOptions } from '../p2p/gossip.ts'
import { companionAgent } from '../protocol/rooms.ts'
import type { RoomName } from '../protocol/rooms.ts'

export interface CompanionServices extends Record<string, unknown> {
  identify: Identify
  identifyPush: IdentifyPush
  ping: Ping
  pubsub: GossipSub
}

export type CompanionNode = Libp2p<CompanionServices>

export interface CompanionNodeOptions {
  /** The room it converses in: its topics are the only ones it takes. */
  room: RoomName
  /**
   * STUN/TURN servers for WebRTC. Empty by default: on a LAN, host candidates
   * connect, and no traffic should leave for public servers unasked.
   */
  iceServers: RTCIceServer[]
  /** The tab's kept key, so a reload keeps its peer id. */
  privateKey?: PrivateKey
}

export async function createCompanionNode (options: CompanionNodeOptions): Promise<CompanionNode> {
  return await createLibp2p<CompanionServices>({
    // Tells peers of another make (aikyo) from ours; see p2p/presence.ts.
    nodeInfo: { userAgent: companionAgent(options.room) },
    ...(options.privateKey === undefined ? {} : { privateKey: options.privateKey }),
    addresses: {
      listen: [
        // Ask a relay we are connected to for a circuit-relay-v2 reservation,
        // so other tabs can reach us through it to signal WebRTC.
        '/p2p-circuit',
        // Accept incoming WebRTC connections signalled over that relayed hop.
        '/webrtc'
      ]
    },
    transports: [
      // To the relay: the only thing a page can dial without a peer's help.
      webSockets(),
      // Tab to tab, direct. Without an explicit list it would use four public STUN servers.
      webRTC({ rtcConfiguration: { iceServers: options.iceServers } }),
      // The relayed hop that carries WebRTC signalling.
      circuitRelayTransport()
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // A tab busy for a few seconds (its first lines' brain loading, a model compiling, a
    // machine under load) answers pings late, and with libp2p's default timeout (5 s at the
    // least) every link it held was closed at once (the links soak saw it). A peer that is
    // gone is still found: a page that closes says so (pagehide), and WebRTC's consent
    // checks end a dead link within about 30 s.
    connectionMonitor: { pingTimeout: { minTimeout: 20_000 } },
    connectionGater: {
      // The browser default refuses private and loopback addresses and plain
      // ws://, which is exactly where a LAN relay lives.
      denyDialMultiaddr: async () => false
    },
    services: {
      // Required by WebRTC signalling, circuit relay and GossipSub.
      identify: identify(),
      // Tells connected tabs when our addresses or our card changed (they
      // then ask for the card again; see p2p/presence.ts).
      identifyPush: identifyPush({ runOnLimitedConnection: true }),
      ping: ping(),
      // The room's topics, and its directory, where the others announce their addresses (p2p/room-directory.ts).
      pubsub: gossipsub(gossipOptions({ room: options.room }))
    }
  })
}
