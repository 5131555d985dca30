/**
 * The topics of the rooms a node is in, as every node of ours uses them
 * (relay, tab, headless companion): a validator on each topic, the topics
 * subscribed, payloads checked before they are published, and one stream of
 * typed deliveries (our own publishes included) for whoever listens.
 * A tab or a headless companion is in one room; the relay joins every room
 * in use (relay/rooms.ts).
 *
 * Each payload is decoded once, where it enters: the validator decodes it
 * (and refuses it for every listener and every peer downstream if it is
 * bad), and the delivery hands on that decoded payload. GossipSub passes the
 * same message object to the validator and then to its `message` event.
 */
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import type { Libp2p } from '@libp2p/interface'
import { impersonated, speakersOf } from '../protocol/claims.ts'
import type { IdClaims } from '../protocol/claims.ts'
import { decodePayload, preparePayload } from '../protocol/codec.ts'
import type { Outgoing, RefusalCode, TopicPayload } from '../protocol/codec.ts'
import type { PublishedPayloads } from '../protocol/payloads.ts'
import { topicName } from '../protocol/rooms.ts'
import type { RoomName } from '../protocol/rooms.ts'
import { TOPICS } from '../protocol/topics.ts'
import type { Topic } from '../protocol/topics.ts'
import { Lifetime } from './lifetime.ts'
import { Listeners } from '../protocol/listeners.ts'

/** One accepted payload, as a listener gets it. */
export type Delivery = TopicPayload & {
  room: RoomName
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
  room: RoomName
  topic: Topic
  /** Its decoding's refusal, or `impersonation`: it speaks as a companion another peer holds. */
  code: RefusalCode | 'impersonation'
  message: string
  /** The peer that passed it on. */
  from: string
}

/** One room's side of the bus: what a companion publishes and hears. */
export interface RoomChannel {
  room: RoomName
  /** Checks and publishes a payload in the room; listeners hear it too, as our own. Throws a TypeError for a payload peers would refuse. */
  publish: <T extends Topic>(topic: T, payload: PublishedPayloads[T]) => Promise<void>
  /** Every accepted payload of the room (our own included). Returns the unsubscribe. */
  onPayload: (listener: DeliveryListener) => () => void
}

export interface TopicBus {
  /** Subscribes to the room's five topics, with their validators (again: nothing happens). */
  join: (room: RoomName) => void
  /** Unsubscribes from the room's topics. */
  leave: (room: RoomName) => void
  /** The rooms joined, in the order joined. */
  rooms: () => RoomName[]
  /** Checks and publishes a payload in a room; listeners hear it too, as our own. Throws a TypeError for a payload peers would refuse. */
  publish: <T extends Topic>(room: RoomName, topic: T, payload: PublishedPayloads[T]) => Promise<void>
  /** Publishes a payload already checked by `preparePayload` (the firehose checks client input itself). */
  publishPrepared: (room: RoomName, outgoing: Outgoing) => Promise<void>
  /** Subscribes to every accepted payload of every room (our own included). Returns the unsubscribe. */
  onPayload: (listener: DeliveryListener) => () => void
  /** The room's side of the bus. */
  channel: (room: RoomName) => RoomChannel
  /** Leaves every room and stops listening to GossipSub. */
  stop: () => void
}

export interface TopicBusOptions {
  /**
   * Who holds each companion id in a room: a payload that speaks as an id
   * another peer holds is dropped (not delivered, not passed on) and refused
   * as an `impersonation`.
   */
  claims?: (room: RoomName) => Pick<IdClaims, 'holder'> | undefined
}

export function startTopicBus (node: Libp2p<{ pubsub: GossipSub }>, onRefused: (refusal: Refusal) => void, options: TopicBusOptions = {}): TopicBus {
  const pubsub = node.services.pubsub
  const textDecoder = new TextDecoder()
  const listeners = new Listeners<Delivery>()
  const deliver = (delivery: Delivery): void => { listeners.tell(delivery) }
  const self = node.peerId.toString()
  const joined = new Set<RoomName>()

  // Accepted payloads, decoded by the validator, until their message event.
  const accepted = new WeakMap<Message, Delivery>()
  const lifetime = new Lifetime()
  pubsub.addEventListener('message', (event) => {
    const message = event.detail
    const delivery = accepted.get(message)
    if (delivery === undefined) return // not one of the rooms' topics
    accepted.delete(message)
    deliver(delivery)
  }, { signal: lifetime.signal })

  const join = (room: RoomName): void => {
    if (joined.has(room)) return
    joined.add(room)
    for (const topic of TOPICS) {
      const name = topicName(room, topic)
      pubsub.topicValidators.set(name, (peer, message) => {
        const decoded = decodePayload(topic, message.data)
        if (!decoded.ok) {
          onRefused({ room, topic, code: decoded.code, message: decoded.message, from: peer.toString() })
          return TopicValidatorResult.Reject
        }
        const { ok: _ok, ...payload } = decoded
        const author = message.type === 'signed' ? message.from.toString() : undefined
        const claims = options.claims?.(room)
        const taken = claims === undefined ? undefined : impersonated(speakersOf(payload.topic, payload.payload), author, claims)
        if (taken !== undefined) {
          onRefused({ room, topic, code: 'impersonation', message: `speaks as ${taken.id}, which peer ${taken.holder} holds, but peer ${author ?? '(unsigned)'} wrote it`, from: peer.toString() })
          // Ignored, not rejected: the neighbour that passed it on may not know who holds the id.
          return TopicValidatorResult.Ignore
        }
        accepted.set(message, { ...payload, room, text: textDecoder.decode(message.data), own: false, author })
        return TopicValidatorResult.Accept
      })
      pubsub.subscribe(name)
    }
  }

  const publishPrepared = async (room: RoomName, outgoing: Outgoing): Promise<void> => {
    if (!joined.has(room)) throw new Error(`not in room ${room}`)
    await pubsub.publish(topicName(room, outgoing.checked.topic), outgoing.bytes)
    deliver({ ...outgoing.checked, room, text: outgoing.text, own: true, author: self })
  }

  const publish = async <T extends Topic>(room: RoomName, topic: T, payload: PublishedPayloads[T]): Promise<void> => {
    const outgoing = preparePayload(topic, payload)
    if (!outgoing.ok) throw new TypeError(`refusing to publish on ${topic}: ${outgoing.message}`)
    await publishPrepared(room, outgoing)
  }

  const onPayload = (listener: DeliveryListener): () => void => listeners.add(listener)

  const leave = (room: RoomName): void => {
    if (!joined.delete(room)) return
    for (const topic of TOPICS) {
      const name = topicName(room, topic)
      pubsub.unsubscribe(name)
      pubsub.topicValidators.delete(name)
    }
  }

  return {
    join,
    leave,
    rooms: () => [...joined],
    publish,
    publishPrepared,
    onPayload,
    channel: (room) => ({
      room,
      publish: async (topic, payload) => { await publish(room, topic, payload) },
      onPayload: (listener) => onPayload((delivery) => { if (delivery.room === room) listener(delivery) })
    }),
    stop: () => {
      lifetime.stop()
      for (const room of [...joined]) leave(room)
      listeners.clear()
    }
  }
}

