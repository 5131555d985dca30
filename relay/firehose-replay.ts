/**
 * The firehose's events, numbered relay-wide, and replay for v1 clients that
 * reconnect: what they missed, from the `seq` they last saw, as far as the
 * buffer still holds it (docs/firehose.md, "Replay").
 */
import type { TopicPayload } from '../protocol/codec.ts'
import type { Sealed } from '../protocol/private-rooms.ts'
import type { RoomName } from '../protocol/rooms.ts'
import { TOPICS } from '../protocol/topics.ts'
import type { Topic } from '../protocol/topics.ts'
import type { FirehoseClient } from './firehose-client.ts'
import { eventFrame, matchesFilter, routingOf } from './firehose-protocol.ts'
import type { Filter, FirehoseEvent } from './firehose-protocol.ts'

/**
 * What arrived, for the firehose: the payload (a private room's sealed), its
 * room, its JSON text, and the peer that wrote it (`firehose` for a client's).
 */
export type Arrival = (TopicPayload | { topic: Topic, payload: Sealed }) & { room: RoomName, json: string, peer: string }

/**
 * The last `perTopic` events of each topic of each room, for clients that
 * reconnect. Sequence numbers are relay-wide, so a client resumes with one
 * number. A room the relay no longer carries is dropped with `forget`.
 */
export class ReplayBuffer {
  readonly perTopic: number
  #events = new Map<string, FirehoseEvent[]>()
  /** Per room and topic, the highest seq that fell out of the buffer. */
  #evicted = new Map<string, number>()

  constructor (perTopic: number) {
    this.perTopic = perTopic
  }

  add (event: FirehoseEvent): void {
    const key = `${event.room}/${event.topic}`
    const list = this.#events.get(key) ?? []
    list.push(event)
    if (list.length > this.perTopic) this.#evicted.set(key, list.shift()!.seq)
    this.#events.set(key, list)
  }

  /**
   * Events after `since` matching `filter` (its `rooms` given), in order; or
   * the oldest `since` that still works when the buffer no longer holds all of them.
   */
  since (since: number, filter: Filter & { rooms: RoomName[] }): { ok: true, events: FirehoseEvent[] } | { ok: false, oldest: number } {
    const keys = filter.rooms.flatMap(room => (filter.topics ?? TOPICS).map(topic => `${room}/${topic}`))
    const lost = Math.max(-1, ...keys.map(key => this.#evicted.get(key) ?? -1))
    if (lost > since) return { ok: false, oldest: lost }
    const events = keys.flatMap(key => (this.#events.get(key) ?? []).filter(e => e.seq > since && matchesFilter(filter, e)))
    return { ok: true, events: events.sort((a, b) => a.seq - b.seq) }
  }

  /** Drops what is kept of a room. */
  forget (room: RoomName): void {
    for (const topic of TOPICS) {
      this.#events.delete(`${room}/${topic}`)
      this.#evicted.delete(`${room}/${topic}`)
    }
  }
}

/** Every event numbered as it arrives, the recent ones kept for replay. */
export class EventLog {
  #seq = 0
  readonly #replay: ReplayBuffer
  readonly #now: () => number

  constructor (perTopic: number, now: () => number) {
    this.#replay = new ReplayBuffer(perTopic)
    this.#now = now
  }

  /** The last number given. */
  get seq (): number { return this.#seq }

  /** Numbers what arrived and keeps it for replay. */
  record (arrival: Arrival): FirehoseEvent {
    const event: FirehoseEvent = { seq: ++this.#seq, time: this.#now(), room: arrival.room, topic: arrival.topic, peer: arrival.peer, json: arrival.json, ...routingOf(arrival.payload) }
    this.#replay.add(event)
    return event
  }

  /** Sends a client what it missed after `since` and its filter lets through, then `replayed`; or `too-old`. */
  replayTo (client: FirehoseClient, since: number): void {
    const found = this.#replay.since(since, client.filter)
    if (!found.ok) {
      client.sendError('too-old', `events after ${since} are no longer all kept: replay from ${found.oldest} or later, or start afresh`, { oldest: found.oldest })
      return
    }
    for (const event of found.events) client.send(eventFrame(event))
    client.send(JSON.stringify({ type: 'replayed', since, through: this.#seq, count: found.events.length }))
  }

  /** Drops what is kept of a room the relay no longer carries. */
  forget (room: RoomName): void {
    this.#replay.forget(room)
  }
}
