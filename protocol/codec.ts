/**
 * Turning bytes on a topic into typed payloads and back. `decodePayload`
 * never throws: every failure is a value with a machine-readable code and a
 * message a person can act on. The same function guards GossipSub (topic
 * validators) and the firehose (client frames), so both refuse exactly the
 * same things.
 */
import * as v from 'valibot'
import { MAX_PAYLOAD_BYTES, TOPICS, isTopic } from './topics.ts'
import type { Topic } from './topics.ts'
import {
  ActionSchema, LegacyMessageSchema, MessageSchema, QueryResultSchema, QuerySchema, StateSchema
} from './payloads.ts'
import type { State, TopicPayloads } from './payloads.ts'

/** Why a payload was refused. The codes are shared with the firehose's error frames. */
export type RefusalCode = 'invalid' | 'unknown-topic' | 'too-large'

export interface Refused { ok: false, code: RefusalCode, message: string }

/**
 * A payload with its topic, as a union over the topics: checking `topic`
 * narrows `payload` to what that topic carries.
 */
export type TopicPayload<T extends Topic = Topic> = T extends Topic ? { topic: T, payload: TopicPayloads[T] } : never

/** What checking a payload gives: the typed payload, or why it was refused. */
export type Decoded<T extends Topic = Topic> = (T extends Topic ? { ok: true, topic: T, payload: TopicPayloads[T] } : never) | Refused

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

function refuse (code: RefusalCode, message: string): Refused {
  return { ok: false, code, message }
}

function check<S extends v.GenericSchema> (schema: S, value: unknown, what: string):
  { ok: true, value: v.InferOutput<S> } | { ok: false, message: string } {
  const result = v.safeParse(schema, value)
  if (result.success) return { ok: true, value: result.output }
  return { ok: false, message: `not a valid ${what}: ${v.summarize(result.issues).replaceAll('\n', '; ')}` }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

function validateMessage (value: unknown): Decoded<'messages'> {
  // The seed's bare form has no envelope; tell the two apart by `jsonrpc`
  // so the error names the fields of the form the sender meant.
  if (isObject(value) && !('jsonrpc' in value)) {
    const legacy = check(LegacyMessageSchema, value, 'message')
    if (!legacy.ok) return refuse('invalid', legacy.message)
    return { ok: true, topic: 'messages', payload: { jsonrpc: '2.0', method: 'message.send', params: legacy.value } }
  }
  const message = check(MessageSchema, value, 'message.send')
  return message.ok ? { ok: true, topic: 'messages', payload: message.value } : refuse('invalid', message.message)
}

function validateStates (value: unknown): Decoded<'states'> {
  const items = Array.isArray(value) ? value : [value]
  const states: State[] = []
  for (const [index, item] of items.entries()) {
    const state = check(StateSchema, item, Array.isArray(value) ? `state.send at index ${index}` : 'state.send')
    if (!state.ok) return refuse('invalid', state.message)
    states.push(state.value)
  }
  return { ok: true, topic: 'states', payload: states }
}

function validateQueryOrResult (value: unknown): Decoded<'queries'> {
  if (isObject(value) && !('method' in value)) {
    const result = check(QueryResultSchema, value, 'query result')
    return result.ok ? { ok: true, topic: 'queries', payload: result.value } : refuse('invalid', result.message)
  }
  const query = check(QuerySchema, value, 'query.send')
  return query.ok ? { ok: true, topic: 'queries', payload: query.value } : refuse('invalid', query.message)
}

/** Validates an already-parsed JSON value against its topic's schema. */
export function validatePayload<T extends Topic> (topic: T, value: unknown): Decoded<T>
export function validatePayload (topic: string, value: unknown): Decoded
export function validatePayload (topic: string, value: unknown): Decoded {
  if (!isTopic(topic)) {
    return refuse('unknown-topic', `unknown topic ${JSON.stringify(topic)}: use one of ${TOPICS.join(', ')}`)
  }
  switch (topic) {
    case 'messages': return validateMessage(value)
    case 'actions': {
      const action = check(ActionSchema, value, 'action.send')
      return action.ok ? { ok: true, topic, payload: action.value } : refuse('invalid', action.message)
    }
    case 'states': return validateStates(value)
    case 'queries': return validateQueryOrResult(value)
    case 'query-results': {
      const result = check(QueryResultSchema, value, 'query result')
      return result.ok ? { ok: true, topic, payload: result.value } : refuse('invalid', result.message)
    }
  }
}

/** Parses text as JSON without throwing. */
export function parseJson (text: string): { ok: true, value: unknown } | { ok: false, message: string } {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (err) {
    return { ok: false, message: `not JSON: ${(err as Error).message}` }
  }
}

/** The first steps of decoding any payload: the size cap, UTF-8, JSON. */
export function decodeJsonPayload (data: Uint8Array | string): { ok: true, text: string, value: unknown } | Refused {
  const size = typeof data === 'string' ? encoder.encode(data).byteLength : data.byteLength
  if (size > MAX_PAYLOAD_BYTES) {
    return refuse('too-large', `payload is ${size} bytes; the limit is ${MAX_PAYLOAD_BYTES}`)
  }
  let text: string
  if (typeof data === 'string') {
    text = data
  } else {
    try {
      text = decoder.decode(data)
    } catch {
      return refuse('invalid', 'payload is not valid UTF-8')
    }
  }
  const json = parseJson(text)
  if (!json.ok) return refuse('invalid', json.message)
  return { ok: true, text, value: json.value }
}

/**
 * Decodes the bytes (or text) of one payload published on `topic`: size cap,
 * UTF-8, JSON, then the topic's schema.
 */
export function decodePayload<T extends Topic> (topic: T, data: Uint8Array | string): Decoded<T>
export function decodePayload (topic: string, data: Uint8Array | string): Decoded
export function decodePayload (topic: string, data: Uint8Array | string): Decoded {
  const json = decodeJsonPayload(data)
  return json.ok ? validatePayload(topic, json.value) : json
}

/** A payload ready to publish: checked as every peer's validator will check it, with the bytes to send. */
export interface Outgoing<T extends Topic = Topic> {
  ok: true
  checked: TopicPayload<T>
  /** The JSON text, and its UTF-8 bytes that travel. */
  text: string
  bytes: Uint8Array
}

/**
 * Prepares a JSON value for publishing on `topic`: its UTF-8 JSON, within
 * the size cap, passing the topic's schema. The value's own JSON is what
 * travels (not the normalised payload), so peers see what the sender wrote.
 */
export function preparePayload<T extends Topic> (topic: T, value: unknown): Outgoing<T> | Refused {
  const text: string | undefined = JSON.stringify(value)
  if (text === undefined) return refuse('invalid', 'not a JSON value')
  const bytes = encoder.encode(text)
  if (bytes.byteLength > MAX_PAYLOAD_BYTES) {
    return refuse('too-large', `payload is ${bytes.byteLength} bytes; the limit is ${MAX_PAYLOAD_BYTES}`)
  }
  const decoded = validatePayload(topic, value)
  if (!decoded.ok) return decoded
  return { ok: true, checked: decoded, text, bytes }
}

/** The bytes to publish for a payload: UTF-8 JSON, as every aikyo peer expects. */
export function encodePayload (payload: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(payload))
}
