/**
 * The firehose's protocol as pure parts the server in firehose.ts puts
 * together: the frames a client may send in either dialect (v0, aikyo's
 * `{topic, body}`, and v1's typed frames), checked; the subscription
 * filter; the event envelope; the replay buffer; the publish rate limiter.
 * Protocol reference: docs/firehose.md.
 */
import * as v from 'valibot'
import { parseRoomName } from '../protocol/rooms.ts'
import type { RoomName } from '../protocol/rooms.ts'
import { TOPICS } from '../protocol/topics.ts'
import type { Topic } from '../protocol/topics.ts'
import type { RoomSummary } from '../protocol/relay-api.ts'

export const FIREHOSE_VERSION = 1

export type FirehoseErrorCode = 'invalid' | 'unknown-topic' | 'too-large' | 'rate-limited' | 'unauthorized' | 'forbidden' | 'too-old' | 'too-many-rooms' | 'internal'

/** Rooms one client may watch at once. */
export const MAX_ROOMS_PER_CLIENT = 32

const Ids = v.pipe(v.array(v.pipe(v.string(), v.maxLength(200))), v.maxLength(256))

/** A room name, case-folded, or the rule it breaks. */
const RoomSchema = v.pipe(v.string(), v.rawTransform(({ dataset, addIssue, NEVER }) => {
  const parsed = parseRoomName(dataset.value)
  if (parsed.ok) return parsed.room
  addIssue({ message: parsed.message })
  return NEVER
}))

/**
 * Which events a client receives; an absent field matches everything, but
 * for `rooms`: absent, the room the client connected to (`?room=`, else the default room).
 */
const FilterSchema = v.object({
  rooms: v.optional(v.pipe(v.array(RoomSchema), v.minLength(1), v.maxLength(MAX_ROOMS_PER_CLIENT))),
  topics: v.optional(v.pipe(v.array(v.picklist(TOPICS)), v.maxLength(TOPICS.length))),
  /** Senders: `params.from` of the payload. */
  from: v.optional(Ids),
  /** Addressees: any of `params.to` of the payload. */
  to: v.optional(Ids)
})
export type Filter = v.InferOutput<typeof FilterSchema>

const Seq = v.pipe(v.number(), v.integer(), v.minValue(0))
const FrameId = v.pipe(v.string(), v.maxLength(200))

export const ClientFrameSchema = v.variant('type', [
  v.object({ type: v.literal('hello'), version: v.literal(FIREHOSE_VERSION), token: v.optional(v.string()), subscribe: v.optional(FilterSchema), since: v.optional(Seq) }),
  v.object({ type: v.literal('subscribe'), ...FilterSchema.entries }),
  v.object({ type: v.literal('publish'), id: v.optional(FrameId), room: v.optional(RoomSchema), topic: v.string(), body: v.unknown() }),
  v.object({ type: v.literal('replay'), since: Seq }),
  v.object({ type: v.literal('ping'), id: v.optional(FrameId) })
])
export type ClientFrame = v.InferOutput<typeof ClientFrameSchema>

/** A v0 client's publish: aikyo's firehose frame. The topic is checked when publishing (its own error code). */
export const V0FrameSchema = v.object({
  topic: v.unknown(),
  body: v.unknown()
})
export type V0Frame = v.InferOutput<typeof V0FrameSchema>

/** A frame that switches a v0 client to v1. */
const HelloSchema = v.object({ type: v.literal('hello') })

/**
 * What a v0 client sent: a publish, or a hello that switches it to v1 (then
 * read with `parseClientFrame`), or why it is neither.
 */
export function parseV0Frame (value: unknown): { ok: true, frame: V0Frame } | { ok: true, hello: true } | { ok: false, message: string } {
  if (v.is(HelloSchema, value)) return { ok: true, hello: true }
  const parsed = v.safeParse(V0FrameSchema, value)
  if (parsed.success) return { ok: true, frame: parsed.output }
  return { ok: false, message: 'expected an object {"topic": …, "body": …} (or {"type":"hello","version":1} for protocol v1)' }
}

export function parseClientFrame (value: unknown): { ok: true, frame: ClientFrame } | { ok: false, message: string } {
  const parsed = v.safeParse(ClientFrameSchema, value)
  if (parsed.success) return { ok: true, frame: parsed.output }
  const issue = parsed.issues[0]
  const path = v.getDotPath(issue)
  return { ok: false, message: `${path === null ? 'frame' : path}: ${issue.message}` }
}

/** An event as the relay saw it: a payload on a topic, numbered. */
export interface FirehoseEvent {
  seq: number
  room: RoomName
  /** ms since the epoch, when the relay received it */
  time: number
  topic: Topic
  /** The peer that published it, or `firehose`. */
  peer: string
  /** The payload's JSON text. */
  json: string
  /** `params.from` and `params.to` of the payload, for filters. */
  sender?: string
  addressees?: string[]
}

/** What filters look at, read once per event. */
export function routingOf (payload: unknown): { sender?: string, addressees?: string[] } {
  const items = Array.isArray(payload) ? payload : [payload]
  const senders = new Set<string>()
  const addressees = new Set<string>()
  for (const item of items) {
    const params = (item as { params?: { from?: unknown, to?: unknown } } | null)?.params
    if (typeof params?.from === 'string') senders.add(params.from)
    if (Array.isArray(params?.to)) for (const id of params.to) if (typeof id === 'string') addressees.add(id)
  }
  return { ...(senders.size === 1 ? { sender: [...senders][0] } : {}), addressees: [...addressees] }
}

/** Whether `event` is one a client with `filter` gets (the filter's rooms already in effect: see `roomsOf`). */
export function matchesFilter (filter: Filter, event: Pick<FirehoseEvent, 'room' | 'topic' | 'sender' | 'addressees'>): boolean {
  if (filter.rooms !== undefined && !filter.rooms.includes(event.room)) return false
  if (filter.topics !== undefined && !filter.topics.includes(event.topic)) return false
  if (filter.from !== undefined && (event.sender === undefined || !filter.from.includes(event.sender))) return false
  if (filter.to !== undefined && !(event.addressees ?? []).some(id => filter.to!.includes(id))) return false
  return true
}

/** The server's envelope around one event. */
export function eventFrame (event: FirehoseEvent): string {
  return `{"type":"event","seq":${event.seq},"time":${event.time},"room":${JSON.stringify(event.room)},"topic":${JSON.stringify(event.topic)},"peer":${JSON.stringify(event.peer)},"payload":${event.json}}`
}

/** A token bucket: `rate` publishes a second, bursts up to `burst`. */
export class RateLimiter {
  readonly rate: number
  readonly burst: number
  #tokens: number
  #last: number

  constructor (rate: number, burst: number, now: number) {
    this.rate = rate
    this.burst = burst
    this.#tokens = burst
    this.#last = now
  }

  take (now: number): boolean {
    this.#tokens = Math.min(this.burst, this.#tokens + (now - this.#last) * this.rate / 1000)
    this.#last = now
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }
}

export interface FirehoseLimits {
  /** Clients at once; the next one is closed with 1013 (try again later). */
  maxClients: number
  /** Largest client frame (bytes); a larger one closes the connection with 1009. */
  maxFrameBytes: number
  /** Publishes a client may make per second, and in a burst. */
  publishRate: number
  publishBurst: number
  /** Unsent bytes a client may have queued: a warning at half, closed (1008) beyond. */
  sendBufferBytes: number
  /** Events kept per topic for replay. */
  replayPerTopic: number
  /** WebSocket pings (dead clients dropped) and v1 heartbeat frames, this often. */
  heartbeatMs: number
}

export interface FirehoseAccess {
  /** Publishing needs this token (`?token=` or the hello's `token`). */
  publishToken?: string
  /** Nobody may publish. */
  readOnly: boolean
  /** Browser origins allowed to connect; empty: any. Clients without an Origin header always may. */
  allowedOrigins: string[]
}

/** The relay's rooms, as the firehose needs them (relay/rooms.ts). */
export interface FirehoseRooms {
  /** Carry a room a client watches or speaks in, or say why not. */
  want: (room: RoomName) => { ok: true } | { ok: false, message: string }
  release: (room: RoomName) => void
  /** The rooms shown to whoever asks (private rooms are not). */
  listed: () => RoomSummary[]
}
