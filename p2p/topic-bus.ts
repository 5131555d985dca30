/**
 * The five topics as every node of ours uses them (relay, tab, headless
 * companion): a validator on each topic, every topic subscribed, payloads
 * checked before they are published, and one stream of typed deliveries
 * (our own publishes included) for whoever listens.
 *
 * Each payload is decoded once, where it enters: the validator decodes it
 * (and refuses it for every listener and every peer downstream if it is
 * bad), and the delivery hands on that decoded payload. GossipSub passes the
 * same message object to the validator and then to its `message` event.
 */
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import type { Libp2p } from '@libp2p/interface'
import { decodePayload, preparePayload } from '../protocol/codec.ts'
import type { Outgoing, RefusalCode, TopicPayload } from '../protocol/codec.ts'
import type { PublishedPayloads } from '../protocol/payloads.ts'
import { TOPICS } from '../protocol/topics.ts'
import type { Topic } from '../protocol/topics.ts'

/** One accepted payload, as a listener gets it. */
export type Delivery = TopicPayload & {
  /** The payload's JSON text as it travelled (for logs and the firehose). */
  text: string
  /** Published by this node. */
  own: boolean
  /** The peer that wrote it (GossipSub signs every message); undefined for an unsigned one. */
  author: string | undefined
}

export type DeliveryListener = (delivery: Delivery) => void

/** A refused payload, for counters and logs. */
export interface Refusal {
  topic: Topic
  code: RefusalCode
  message: string
  /** The peer that passed it on. */
  from: string
}

export interface TopicBus {
  /** Checks and publishes a payload; listeners hear it too, as our own. Throws a TypeError for a payload peers would refuse. */
  publish: <T extends Topic>(topic: T, payload: PublishedPayloads[T]) => Promise<void>
  /** Publishes a payload already checked by `preparePayload` (the firehose checks client input itself). */
  publishPrepared: (outgoing: Outgoing) => Promise<void>
  /** Subscribes to every accepted payload (our own included). Returns the unsubscribe. */
  onPayload: (listener: DeliveryListener) => () => void
}

export function startTopicBus (node: Libp2p<{ pubsub: GossipSub }>, onRefused: (refusal: Refusal) => void): TopicBus {
  const pubsub = node.services.pubsub
  const textDecoder = new TextDecoder()
  const listeners = new Set<DeliveryListener>()
  const deliver = (delivery: Delivery): void => {
    for (const listener of listeners) listener(delivery)
  }
  const self = node.peerId.toString()

  // Accepted payloads, decoded by the validator, until their message event.
  const accepted = new WeakMap<Message, TopicPayload>()
  for (const topic of TOPICS) {
    pubsub.topicValidators.set(topic, (peer, message) => {
      const decoded = decodePayload(topic, message.data)
      if (!decoded.ok) {
        onRefused({ topic, code: decoded.code, message: decoded.message, from: peer.toString() })
        return TopicValidatorResult.Reject
      }
      accepted.set(message, decoded)
      return TopicValidatorResult.Accept
    })
  }
  pubsub.addEventListener('message', (event) => {
    const message = event.detail
    const decoded = accepted.get(message)
    if (decoded === undefined) return // not one of the five topics
    accepted.delete(message)
    deliver({ ...decoded, text: textDecoder.decode(message.data), own: false, author: message.type === 'signed' ? message.from.toString() : undefined })
  })
  for (const topic of TOPICS) pubsub.subscribe(topic)

  const publishPrepared = async (outgoing: Outgoing): Promise<void> => {
    await pubsub.publish(outgoing.checked.topic, outgoing.bytes)
    deliver({ ...outgoing.checked, text: outgoing.text, own: true, author: self })
  }

  return {
    publish: async (topic, payload) => {
      const outgoing = preparePayload(topic, payload)
      if (!outgoing.ok) throw new TypeError(`refusing to publish on ${topic}: ${outgoing.message}`)
      await publishPrepared(outgoing)
    },
    publishPrepared,
    onPayload: (listener) => {
      listeners.add(listener)
      return () => { listeners.delete(listener) }
    }
  }
}
