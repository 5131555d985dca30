/**
 * The firehose's publish path: what a client may say, checked in order (its
 * right to publish, its rate, the topic, the payload as every peer's
 * validator will check it (in a private room, its sealed shape), nobody speaking as another, the room carried),
 * then published on the network and, once out, numbered, delivered to the
 * other clients and acknowledged. Every refusal is an error frame.
 */
import { speakersOf } from '../protocol/claims.ts'
import { preparePayload } from '../protocol/codec.ts'
import type { Outgoing } from '../protocol/codec.ts'
import { prepareSealed } from '../protocol/private-rooms.ts'
import type { SealedOutgoing } from '../protocol/private-rooms.ts'
import { isPrivateRoom } from '../protocol/rooms.ts'
import type { RoomName } from '../protocol/rooms.ts'
import { TOPICS, isTopic } from '../protocol/topics.ts'
import type { FirehoseClient } from './firehose-client.ts'
import type { EventLog } from './firehose-replay.ts'
import type { FirehoseSpeakers } from './firehose-speakers.ts'
import type { Subscriptions } from './firehose-subscriptions.ts'
import type { FirehoseAccess, FirehoseLimits, FirehoseRooms } from './firehose-protocol.ts'

export interface PublishPath {
  /** Publishes on the network in its room (checked by then). */
  publish: (room: RoomName, outgoing: Outgoing | SealedOutgoing) => Promise<void>
  rooms: FirehoseRooms
  speakers: FirehoseSpeakers<FirehoseClient>
  limits: Pick<FirehoseLimits, 'publishRate' | 'publishBurst'>
  access: Pick<FirehoseAccess, 'readOnly'>
  events: EventLog
  subscriptions: Subscriptions
  now: () => number
}

/** A client asks to publish `body` on `topic` in `room` (`id`: a v1 publish to acknowledge). */
export function publishFrom (path: PublishPath, client: FirehoseClient, room: RoomName, topic: unknown, body: unknown, id?: string): void {
  const ref = id === undefined ? {} : { id }
  const { limits, rooms } = path
  if (!client.mayPublish) {
    client.sendError('unauthorized', path.access.readOnly ? 'this firehose is read-only' : 'publishing needs the firehose token (?token= or the hello\'s "token")', ref)
    return
  }
  if (!client.limiter.take(path.now())) {
    client.sendError('rate-limited', `at most ${limits.publishRate} publishes a second (bursts of ${limits.publishBurst}); this one was dropped`, ref)
    return
  }
  if (!isTopic(topic)) {
    client.sendError('unknown-topic', `unknown topic ${JSON.stringify(topic)}: use one of ${TOPICS.join(', ')}`, ref)
    return
  }
  if (body === undefined) {
    client.sendError('invalid', 'a publish needs a "body"', ref)
    return
  }
  // The client's own JSON is published (as aikyo's firehose does), not our
  // normalised form: peers see exactly what the client meant to say. In a
  // private room the client sealed it: the relay checks its shape only.
  const outgoing = isPrivateRoom(room) ? prepareSealed(topic, body) : preparePayload(topic, body)
  if (!outgoing.ok) {
    client.sendError(outgoing.code, outgoing.message, ref)
    return
  }
  // Nobody speaks as another: not as a companion present, not as a person
  // another connection is. (Who speaks in a sealed payload, its room's members check.)
  const ids = 'sealed' in outgoing ? [] : speakersOf(outgoing.checked.topic, outgoing.checked.payload)
  const forbidden = path.speakers.refusal(client, room, ids)
  if (forbidden !== undefined) {
    client.sendError('forbidden', forbidden, ref)
    return
  }
  // Speaking in a room the client does not watch: the relay must carry it.
  if (!client.filter.rooms.includes(room)) {
    const wanted = rooms.want(room)
    if (!wanted.ok) {
      client.sendError('too-many-rooms', `room ${room}: ${wanted.message}`, ref)
      return
    }
    rooms.release(room)
  }
  path.speakers.claim(client, ids)
  path.publish(room, outgoing).then(
    () => {
      const event = path.events.record({ ...outgoing.checked, room, json: outgoing.text, peer: 'firehose' })
      path.subscriptions.deliver(event, client)
      if (client.version === 1 && id !== undefined) client.send(JSON.stringify({ type: 'ack', id, seq: event.seq }))
    },
    (err: Error) => { client.sendError('internal', `could not publish: ${err.message}`, ref) }
  )
}
