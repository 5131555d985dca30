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
import type { GossipSub, Message, TopicValidatorFn as TopicValidator } from '@libp2p/gossipsub'
import type { Libp2p } from '@libp2p/interface'
import { impersonated, speakersOf } from '../protocol/claims.ts'
import type { IdClaims } from '../protocol/claims.ts'
import { decodePayload, preparePayload } from '../protocol/codec.ts'
import type { Outgoing, RefusalCode, TopicPayload } from '../protocol/codec.ts'
import type { PublishedPayloads } from '../protocol/payloads.ts'
import { decodeSealed, openSealed, seal } from '../protocol/private-rooms.ts'
import type { RoomKey, Sealed, SealedOutgoing } from '../protocol/private-rooms.ts'
import { isPrivateRoom, topicName } from '../protocol/rooms.ts'
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

/** A payload of a private room this node holds no key for (the relay's case): passed on and kept as it is, never read. */
export interface SealedDelivery {
  room: RoomName
  topic: Topic
  payload: Sealed
  sealed: true
  /** The sealed payload's JSON text as it travelled. */
  text: string
  own: boolean
  author: string | undefined
}

/** A refused payload, for counters and logs. */
export interface Refusal {
  room: RoomName
  topic: Topic
  /**
   * Its decoding's refusal; `impersonation`: it speaks as a companion another
   * peer holds; `unreadable`: a private room's payload this room's key does not open.
   */
  code: RefusalCode | 'impersonation' | 'unreadable'
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
  /**
   * Subscribes to the room's five topics, with their validators (again:
   * nothing happens). A private room's payloads are opened with its `key`;
   * without one (a relay) they are passed on sealed, and told to `onSealed`.
   */
  join: (room: RoomName, options?: { key?: RoomKey }) => void
  /** Unsubscribes from the room's topics. */
  leave: (room: RoomName) => void
  /** The rooms joined, in the order joined. */
  rooms: () => RoomName[]
  /** Checks and publishes a payload in a room; listeners hear it too, as our own. Throws a TypeError for a payload peers would refuse. */
  publish: <T extends Topic>(room: RoomName, topic: T, payload: PublishedPayloads[T]) => Promise<void>
  /**
   * Publishes a payload already checked by `preparePayload` (the firehose
   * checks client input itself), sealed in a private room whose key we hold;
   * or one sealed already (`prepareSealed`) in a private room.
   */
  publishPrepared: (room: RoomName, outgoing: Outgoing | SealedOutgoing) => Promise<void>
  /** Subscribes to every accepted payload of every room (our own included). Returns the unsubscribe. */
  onPayload: (listener: DeliveryListener) => () => void
  /** Subscribes to the payloads of private rooms this node holds no key for (our own included). Returns the unsubscribe. */
  onSealed: (listener: (delivery: SealedDelivery) => void) => () => void
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

/** What the bus knows to check a payload with: who holds which id, and where refusals go. */
interface Checks {
  onRefused: (refusal: Refusal) => void
  options: TopicBusOptions
  /** Accepted payloads, decoded by the validator, until their message event. */
  accepted: WeakMap<Message, Delivery | SealedDelivery>
}

const textDecoder = new TextDecoder()
const authorOf = (message: Message): string | undefined => message.type === 'signed' ? message.from.toString() : undefined

/** Accepts a decoded payload unless it speaks as a companion another peer holds. */
function admit (checks: Checks, room: RoomName, payload: TopicPayload, text: string, peer: string, message: Message): TopicValidatorResult {
  const author = authorOf(message)
  const claims = checks.options.claims?.(room)
  const taken = claims === undefined ? undefined : impersonated(speakersOf(payload.topic, payload.payload), author, claims)
  if (taken !== undefined) {
    checks.onRefused({ room, topic: payload.topic, code: 'impersonation', message: `speaks as ${taken.id}, which peer ${taken.holder} holds, but peer ${author ?? '(unsigned)'} wrote it`, from: peer })
    // Ignored, not rejected: the neighbour that passed it on may not know who holds the id.
    return TopicValidatorResult.Ignore
  }
  checks.accepted.set(message, { ...payload, room, text, own: false, author })
  return TopicValidatorResult.Accept
}

/** The validator of a topic of a room that is not private: the topic's schema, then who holds which id. */
function plainValidator (checks: Checks, room: RoomName, topic: Topic): TopicValidator {
  return (peer, message) => {
    const decoded = decodePayload(topic, message.data)
    if (!decoded.ok) {
      checks.onRefused({ room, topic, code: decoded.code, message: decoded.message, from: peer.toString() })
      return TopicValidatorResult.Reject
    }
    const { ok: _ok, ...payload } = decoded
    return admit(checks, room, payload, textDecoder.decode(message.data), peer.toString(), message)
  }
}

/**
 * The validator of a private room's topic: a sealed payload's shape (a bad
 * one is refused by every node, the relay too); with the room's key, the
 * payload opened and checked as any other. One that cannot be opened, or
 * opened is no payload, is ignored, not rejected: the relay that passed it
 * on could not tell.
 */
function sealedValidator (checks: Checks, room: RoomName, topic: Topic, key: RoomKey | undefined): TopicValidator {
  return async (peer, message) => {
    const sealed = decodeSealed(message.data)
    if (!sealed.ok) {
      checks.onRefused({ room, topic, code: sealed.code, message: sealed.message, from: peer.toString() })
      return TopicValidatorResult.Reject
    }
    if (key === undefined) {
      checks.accepted.set(message, { room, topic, payload: sealed.payload, sealed: true, text: sealed.text, own: false, author: authorOf(message) })
      return TopicValidatorResult.Accept
    }
    const opened = await openSealed(key, topic, sealed.payload)
    const decoded = opened.ok ? decodePayload(topic, opened.text) : undefined
    if (decoded?.ok !== true) {
      const refusal = decoded === undefined ? { code: 'unreadable' as const, message: opened.ok ? '' : opened.message } : { code: decoded.code, message: `opened, but ${decoded.message}` }
      checks.onRefused({ room, topic, ...refusal, from: peer.toString() })
      return TopicValidatorResult.Ignore
    }
    const { ok: _ok, ...payload } = decoded
    return admit(checks, room, payload, opened.ok ? opened.text : '', peer.toString(), message)
  }
}

export function startTopicBus (node: Libp2p<{ pubsub: GossipSub }>, onRefused: (refusal: Refusal) => void, options: TopicBusOptions = {}): TopicBus {
  const pubsub = node.services.pubsub
  const listeners = new Listeners<Delivery>()
  const sealedListeners = new Listeners<SealedDelivery>()
  const deliver = (delivery: Delivery): void => { listeners.tell(delivery) }
  const self = node.peerId.toString()
  /** The rooms joined, with the key of each private room whose members we are. */
  const joined = new Map<RoomName, RoomKey | undefined>()
  const checks: Checks = { onRefused, options, accepted: new WeakMap() }

  const lifetime = new Lifetime()
  pubsub.addEventListener('message', (event) => {
    const message = event.detail
    const delivery = checks.accepted.get(message)
    if (delivery === undefined) return // not one of the rooms' topics
    checks.accepted.delete(message)
    if ('sealed' in delivery) sealedListeners.tell(delivery)
    else deliver(delivery)
  }, { signal: lifetime.signal })

  const join = (room: RoomName, joinOptions: { key?: RoomKey } = {}): void => {
    if (joined.has(room)) return
    const key = joinOptions.key
    if (key !== undefined && key.room !== room) throw new TypeError(`the key is room ${key.room}'s, not ${room}'s`)
    joined.set(room, key)
    for (const topic of TOPICS) {
      const name = topicName(room, topic)
      pubsub.topicValidators.set(name, isPrivateRoom(room) ? sealedValidator(checks, room, topic, key) : plainValidator(checks, room, topic))
      pubsub.subscribe(name)
    }
  }

  const publishPrepared = async (room: RoomName, outgoing: Outgoing | SealedOutgoing): Promise<void> => {
    if (!joined.has(room)) throw new Error(`not in room ${room}`)
    const name = topicName(room, outgoing.checked.topic)
    if ('sealed' in outgoing) {
      if (!isPrivateRoom(room)) throw new TypeError(`room ${room} is not private: its payloads travel as they are, not sealed`)
      await pubsub.publish(name, outgoing.bytes)
      sealedListeners.tell({ ...outgoing.checked, room, sealed: true, text: outgoing.text, own: true, author: self })
      return
    }
    const key = joined.get(room)
    if (isPrivateRoom(room) && key === undefined) throw new TypeError(`room ${room} is private: without its key this node can only pass on payloads sealed already`)
    const bytes = key === undefined ? outgoing.bytes : (await seal(key, outgoing.checked.topic, outgoing.text)).bytes
    await pubsub.publish(name, bytes)
    deliver({ ...outgoing.checked, room, text: outgoing.text, own: true, author: self })
  }

  const publish = async <T extends Topic>(room: RoomName, topic: T, payload: PublishedPayloads[T]): Promise<void> => {
    const outgoing = preparePayload(topic, payload)
    if (!outgoing.ok) throw new TypeError(`refusing to publish on ${topic}: ${outgoing.message}`)
    await publishPrepared(room, outgoing)
  }

  const onPayload = (listener: DeliveryListener): () => void => listeners.add(listener)
  const onSealed = (listener: (delivery: SealedDelivery) => void): () => void => sealedListeners.add(listener)

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
    rooms: () => [...joined.keys()],
    publish,
    publishPrepared,
    onPayload,
    onSealed,
    channel: (room) => ({
      room,
      publish: async (topic, payload) => { await publish(room, topic, payload) },
      onPayload: (listener) => onPayload((delivery) => { if (delivery.room === room) listener(delivery) })
    }),
    stop: () => {
      lifetime.stop()
      for (const room of [...joined.keys()]) leave(room)
      listeners.clear()
      sealedListeners.clear()
    }
  }
}

