/**
 * A bare libp2p peer over TCP, as a LAN node would be, that publishes raw
 * bytes: it has no validators of its own, so it can send what ours refuse.
 */
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { TOPICS } from '../../protocol/topics.ts'
import { waitFor } from './wait.ts'

export interface RawPeer {
  publishRaw: (topic: string, text: string) => Promise<void>
  stop: () => Promise<void>
}

export async function startRawPeer (relayAddr: string): Promise<RawPeer> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) }
  })
  const pubsub = node.services.pubsub as GossipSub
  for (const topic of TOPICS) pubsub.subscribe(topic)
  const target = multiaddr(relayAddr)
  await node.dial(target)
  const relayId = target.getComponents().findLast(c => c.name === 'p2p')!.value!
  await waitFor(() => pubsub.getSubscribers('messages').some(p => p.toString() === relayId), 'the relay to subscribe the raw peer to messages')
  return {
    publishRaw: async (topic, text) => { await pubsub.publish(topic, new TextEncoder().encode(text)) },
    stop: async () => { await node.stop() }
  }
}
