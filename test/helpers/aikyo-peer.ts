/**
 * A minimal aikyo-style peer for interop tests, built from the libp2p v2-line
 * packages aikyo 1.6 uses (installed under `aikyo-*` aliases) and configured
 * as its companion server and firehose configure their nodes: TCP on
 * 0.0.0.0, mDNS discovery with a dial of every peer discovered, Noise,
 * Yamux, identify, and GossipSub with `allowPublishToZeroTopicPeers` and
 * `emitSelf`. Like aikyo it serves its metadata on `/aikyo/metadata/1.0.0`
 * only to peers it has no card of yet, asks every peer for metadata after
 * identify, forgets a peer when it disconnects, and subscribes to the
 * topics its companion server and firehose listen on.
 * Written from reading aikyo's source; none of its code is copied.
 */
import { gossipsub } from 'aikyo-gossipsub'
import { identify } from 'aikyo-identify'
import { createLibp2p } from 'aikyo-libp2p'
import { mdns } from 'aikyo-mdns'
import { noise } from 'aikyo-noise'
import { tcp } from 'aikyo-tcp'
import { yamux } from 'aikyo-yamux'

const METADATA = '/aikyo/metadata/1.0.0'
const TOPICS = ['messages', 'states', 'queries', 'actions'] as const

export interface AikyoCard { id: string, name: string, personality: string, story: string, sample: string }

export interface AikyoPeer {
  peerId: string
  /** Metadata by peer id, as aikyo's companion list holds it (its own card under its companion id). */
  companions: Map<string, AikyoCard>
  /** Every payload received, parsed, by topic. */
  received: Record<typeof TOPICS[number], unknown[]>
  publish: (topic: string, payload: unknown) => Promise<void>
  stop: () => Promise<void>
}

export async function startAikyoPeer (card: AikyoCard): Promise<AikyoPeer> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/0.0.0.0/tcp/0'] },
    transports: [tcp()],
    peerDiscovery: [mdns()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: true }),
      identify: identify()
    }
  })
  const companions = new Map<string, AikyoCard>([[card.id, card]])
  const received = Object.fromEntries(TOPICS.map(t => [t, []])) as unknown as AikyoPeer['received']
  const encoder = new TextEncoder()
  const decoder = new TextDecoder()

  node.addEventListener('peer:discovery', (event) => {
    node.dial(event.detail.multiaddrs).catch(() => { /* aikyo logs and moves on */ })
  })

  await node.handle(METADATA, async ({ stream, connection }) => {
    if (companions.has(connection.remotePeer.toString())) {
      await stream.close()
      return
    }
    await stream.sink([encoder.encode(JSON.stringify(card))])
    await stream.close()
  })

  node.addEventListener('peer:identify', (event) => {
    const peer = event.detail.peerId
    const id = peer.toString()
    if (companions.has(id)) return
    void (async () => {
      const stream = await node.dialProtocol(peer, METADATA)
      const chunks: Uint8Array[] = []
      for await (const chunk of stream.source) chunks.push(chunk.subarray())
      if (chunks.length > 0) {
        const value = JSON.parse(decoder.decode(chunks[0])) as AikyoCard
        if (typeof value.id === 'string' && typeof value.name === 'string') companions.set(id, value)
      }
      await stream.close()
    })().catch(() => { /* not a companion (a relay): aikyo ignores UnsupportedProtocolError */ })
  })
  node.addEventListener('peer:disconnect', (event) => { companions.delete(event.detail.toString()) })

  const pubsub = node.services.pubsub
  for (const topic of TOPICS) pubsub.subscribe(topic)
  pubsub.addEventListener('message', (event) => {
    const topic = event.detail.topic as typeof TOPICS[number]
    if (!(topic in received)) return
    try {
      received[topic].push(JSON.parse(decoder.decode(event.detail.data)))
    } catch { /* aikyo drops what does not parse */ }
  })

  return {
    peerId: node.peerId.toString(),
    companions,
    received,
    publish: async (topic, payload) => { await pubsub.publish(topic, encoder.encode(JSON.stringify(payload))) },
    stop: async () => { await node.stop() }
  }
}
