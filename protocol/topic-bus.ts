/**
 * The five topics as a companion's node uses them, tab and headless alike:
 * validators installed, every topic subscribed, payloads checked before
 * they are published, and one stream of accepted payloads (our own
 * included) for whoever listens.
 */
import type { GossipSub } from '@libp2p/gossipsub'
import { decodePayload, encodePayload } from './codec.ts'
import { installTopicValidators } from './gossip.ts'
import type { Refusal } from './gossip.ts'
import { TOPICS, isTopic } from './topics.ts'
import type { Topic } from './topics.ts'

export type PayloadListener = (topic: Topic, text: string, own: boolean) => void

export interface TopicBus {
  /** Validates and publishes a payload; listeners hear it too, as our own. */
  publish: (topic: Topic, payload: unknown) => Promise<void>
  /** Subscribes to every accepted payload (including our own). Returns the unsubscribe. */
  onPayload: (listener: PayloadListener) => () => void
}

export function startTopicBus (pubsub: GossipSub, onRefused: (refusal: Refusal) => void): TopicBus {
  const decoder = new TextDecoder()
  const listeners = new Set<PayloadListener>()
  const deliver = (topic: Topic, text: string, own: boolean): void => {
    for (const listener of listeners) listener(topic, text, own)
  }

  installTopicValidators(pubsub, onRefused)
  pubsub.addEventListener('message', (event) => {
    const { topic, data } = event.detail
    if (!isTopic(topic)) return
    deliver(topic, decoder.decode(data), false)
  })
  for (const topic of TOPICS) pubsub.subscribe(topic)

  return {
    publish: async (topic, payload) => {
      const bytes = encodePayload(payload)
      const decoded = decodePayload(topic, bytes)
      if (!decoded.ok) throw new TypeError(`refusing to publish on ${topic}: ${decoded.message}`)
      await pubsub.publish(topic, bytes)
      deliver(topic, decoder.decode(bytes), true)
    },
    onPayload: (listener) => {
      listeners.add(listener)
      return () => { listeners.delete(listener) }
    }
  }
}
