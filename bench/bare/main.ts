/**
 * The bare js-libp2p page `npm run bench -- p2p` measures the companion page
 * against: the same transports and services (WebSockets to the relay,
 * WebRTC between tabs, the circuit-relay-v2 hop that signals it, Noise,
 * Yamux, identify, GossipSub subscribed to the five topics), and nothing
 * else: no UI, no companion, no stored key, no /api/relay. It is given the
 * relay's address in its URL (`?relay=MULTIADDR`) and finds other tabs as
 * js-libp2p's browser examples do, by pubsub-peer-discovery (every second,
 * not the default ten), dialling a discovered tab's WebRTC address (the
 * lower peer id dials, so two tabs make one link). It sets the same two
 * marks as the page: `bare:relay-connected`, `bare:first-webrtc`.
 */
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { pubsubPeerDiscovery } from '@libp2p/pubsub-peer-discovery'
import { webRTC } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'

performance.mark('bare:script-start')
const TOPICS = ['messages', 'actions', 'states', 'queries', 'query-results']
const relay = multiaddr(new URLSearchParams(location.search).get('relay') ?? '')
const relayId = relay.getComponents().findLast(c => c.name === 'p2p')?.value

const node = await createLibp2p({
  addresses: { listen: ['/p2p-circuit', '/webrtc'] },
  transports: [webSockets(), webRTC({ rtcConfiguration: { iceServers: [] } }), circuitRelayTransport()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  connectionGater: { denyDialMultiaddr: async () => false },
  peerDiscovery: [pubsubPeerDiscovery({ interval: 1000 })],
  services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) }
})
performance.mark('bare:node-made')
const status = document.getElementById('status')!
let sawRelay = false
let sawWebRTC = false
node.addEventListener('connection:open', ({ detail: connection }) => {
  if (!sawRelay && connection.remotePeer.toString() === relayId) {
    sawRelay = true
    performance.mark('bare:relay-connected')
  }
  if (!sawWebRTC && connection.remoteAddr.getComponents().some(c => c.name === 'webrtc')) {
    sawWebRTC = true
    performance.mark('bare:first-webrtc')
    status.textContent = 'linked'
  }
})
node.addEventListener('peer:discovery', ({ detail: peer }) => {
  if (node.peerId.toString() > peer.id.toString()) return
  const direct = peer.multiaddrs.filter(a => a.getComponents().some(c => c.name === 'webrtc'))
  if (direct.length > 0 && node.getConnections(peer.id).every(c => c.limits != null)) void node.dial(direct).catch(() => {})
})
for (const topic of TOPICS) node.services.pubsub.subscribe(topic)
await node.dial(relay)
status.textContent = 'connected'
