/**
 * Private rooms: a room whose name starts with `~` (protocol/rooms.ts)
 * carries every payload of its five topics sealed, so only those who hold
 * its key can read them. The relay, other rooms' members and firehose
 * clients without the key pass on and keep ciphertext.
 *
 * - The key: PBKDF2-SHA-256 over the passphrase, salted with the room's
 *   name (`kotoba private room v1 ~name`), 600,000 iterations, 256 bits:
 *   an AES-GCM key. Its raw bytes (base64url) are the room's secret, what a
 *   share link carries after `#key=` (never sent to a server).
 * - A sealed payload is the JSON `{"sealed":"<base64url of iv ‖ ciphertext>"}`:
 *   a 12-byte random IV, then AES-GCM-256 of the payload's UTF-8 JSON with
 *   its 16-byte tag, the GossipSub topic's name as additional data (a
 *   payload cannot be moved to another topic or room).
 *
 * WebCrypto only (`globalThis.crypto.subtle`): Node and every browser have
 * it, a browser only on a secure page (https, or localhost).
 * docs/protocol.md spells the same for other clients.
 */
import * as v from 'valibot'
import { decodeJsonPayload } from './codec.ts'
import type { Refused } from './codec.ts'
import { isPrivateRoom, topicName } from './rooms.ts'
import type { RoomName } from './rooms.ts'
import { MAX_PAYLOAD_BYTES } from './topics.ts'
import type { Topic } from './topics.ts'

/** What a private room's members hold: the room and its AES-GCM key, and that key's raw bytes in base64url (the secret a share link carries). */
export interface RoomKey {
  room: RoomName
  key: CryptoKey
  secret: string
}

/** A sealed payload, as it travels on a private room's topics. */
export interface Sealed { sealed: string }

export const PBKDF2_ITERATIONS = 600_000
export const PASSPHRASE_MIN = 8
export const PASSPHRASE_MAX = 1024
const IV_BYTES = 12
const TAG_BYTES = 16
const KEY_BYTES = 32
/** `{"sealed":""}` around the base64url text. */
const ENVELOPE_BYTES = 13
/**
 * The largest payload a private room carries: sealed, it must still be a
 * payload every peer takes (MAX_PAYLOAD_BYTES).
 */
export const MAX_SEALED_TEXT_BYTES = Math.floor((MAX_PAYLOAD_BYTES - ENVELOPE_BYTES) * 3 / 4) - IV_BYTES - TAG_BYTES

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** A secure page's (or Node's) WebCrypto, or why there is none. */
function subtle (): SubtleCrypto {
  const found = globalThis.crypto?.subtle
  if (found === undefined) throw new Error('private rooms need WebCrypto, which a browser gives only to a secure page: open this page over https (start the relay with --tls) or on localhost')
  return found
}

export function toBase64Url (bytes: Uint8Array): string {
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

export function fromBase64Url (text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined
  const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'))
  return Uint8Array.from(binary, c => c.charCodeAt(0))
}

const notPrivate = (room: RoomName): Error => new TypeError(`room ${room} is not private: a private room's name starts with ~`)

/** The passphrase as a person typed it, or why it will not do. */
export function checkPassphrase (passphrase: string): { ok: true } | { ok: false, message: string } {
  const length = [...passphrase].length
  if (length < PASSPHRASE_MIN) return { ok: false, message: `a passphrase has at least ${PASSPHRASE_MIN} characters (four or five words are better)` }
  if (length > PASSPHRASE_MAX) return { ok: false, message: `a passphrase has at most ${PASSPHRASE_MAX} characters` }
  return { ok: true }
}

/** The room's key from its passphrase (slow on purpose: PBKDF2, 600,000 iterations). Throws a TypeError for a passphrase `checkPassphrase` refuses. */
export async function roomKeyFromPassphrase (room: RoomName, passphrase: string): Promise<RoomKey> {
  if (!isPrivateRoom(room)) throw notPrivate(room)
  const checked = checkPassphrase(passphrase)
  if (!checked.ok) throw new TypeError(checked.message)
  const crypto = subtle()
  const material = await crypto.importKey('raw', encoder.encode(passphrase.normalize('NFC')), 'PBKDF2', false, ['deriveBits'])
  const bits = await crypto.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: encoder.encode(`kotoba private room v1 ${room}`), iterations: PBKDF2_ITERATIONS }, material, KEY_BYTES * 8)
  return await roomKeyFromBytes(room, new Uint8Array(bits))
}

/** The room's key from its secret (a share link's `#key=`). Throws a TypeError for anything but 32 bytes in base64url. */
export async function roomKeyFromSecret (room: RoomName, secret: string): Promise<RoomKey> {
  if (!isPrivateRoom(room)) throw notPrivate(room)
  const bytes = fromBase64Url(secret.trim())
  if (bytes?.length !== KEY_BYTES) throw new TypeError(`a room's key is ${KEY_BYTES} bytes in base64url (43 characters, as a share link carries it after #key=)`)
  return await roomKeyFromBytes(room, bytes)
}

async function roomKeyFromBytes (room: RoomName, bytes: Uint8Array<ArrayBuffer>): Promise<RoomKey> {
  const key = await subtle().importKey('raw', bytes, 'AES-GCM', false, ['encrypt', 'decrypt'])
  return { room, key, secret: toBase64Url(bytes) }
}

const SealedSchema = v.strictObject({
  sealed: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]+$/, 'base64url'), v.minLength(Math.ceil((IV_BYTES + TAG_BYTES) * 4 / 3), 'too short to hold an IV and a tag'))
})

/** Checks a parsed JSON value as a sealed payload (what the relay can check of one: its shape). */
export function validateSealed (value: unknown): { ok: true, payload: Sealed } | Refused {
  const parsed = v.safeParse(SealedSchema, value)
  if (parsed.success) return { ok: true, payload: parsed.output }
  return { ok: false, code: 'invalid', message: `a private room carries only sealed payloads, {"sealed":"<base64url>"}: ${v.summarize(parsed.issues).replaceAll('\n', '; ')}` }
}

/** Decodes the bytes (or text) of a payload on a private room's topic: size cap, UTF-8, JSON, the sealed shape. */
export function decodeSealed (data: Uint8Array | string): { ok: true, payload: Sealed, text: string } | Refused {
  const json = decodeJsonPayload(data)
  if (!json.ok) return json
  const sealed = validateSealed(json.value)
  return sealed.ok ? { ...sealed, text: json.text } : sealed
}

/** A sealed payload ready to publish as it is (a firehose client sealed it): checked as the relay checks one. */
export interface SealedOutgoing {
  ok: true
  sealed: true
  checked: { topic: Topic, payload: Sealed }
  text: string
  bytes: Uint8Array
}

/** Prepares a JSON value someone sealed for publishing on `topic` of a private room (the relay cannot open it: it checks its shape). */
export function prepareSealed (topic: Topic, value: unknown): SealedOutgoing | Refused {
  const text: string | undefined = JSON.stringify(value)
  if (text === undefined) return { ok: false, code: 'invalid', message: 'not a JSON value' }
  const decoded = decodeSealed(text)
  if (!decoded.ok) return decoded
  return { ok: true, sealed: true, checked: { topic, payload: decoded.payload }, text, bytes: encoder.encode(text) }
}

/** Seals a payload's JSON text for `topic` of the key's room: the sealed payload's JSON and its bytes. */
export async function seal (key: RoomKey, topic: Topic, text: string): Promise<{ payload: Sealed, text: string, bytes: Uint8Array }> {
  const plain = encoder.encode(text)
  if (plain.byteLength > MAX_SEALED_TEXT_BYTES) throw new TypeError(`payload is ${plain.byteLength} bytes; a private room's limit is ${MAX_SEALED_TEXT_BYTES}`)
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES))
  const cipher = new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv, additionalData: encoder.encode(topicName(key.room, topic)) }, key.key, plain))
  const joined = new Uint8Array(IV_BYTES + cipher.length)
  joined.set(iv)
  joined.set(cipher, IV_BYTES)
  const payload = { sealed: toBase64Url(joined) }
  const json = JSON.stringify(payload)
  return { payload, text: json, bytes: encoder.encode(json) }
}

/** Opens a sealed payload of `topic` in the key's room: its JSON text, or why it cannot be read (another key, another topic, tampered with). */
export async function openSealed (key: RoomKey, topic: Topic, sealed: Sealed): Promise<{ ok: true, text: string } | { ok: false, message: string }> {
  const bytes = fromBase64Url(sealed.sealed)
  if (bytes === undefined || bytes.length < IV_BYTES + TAG_BYTES) return { ok: false, message: 'not a sealed payload: too short or not base64url' }
  let plain: ArrayBuffer
  try {
    plain = await subtle().decrypt({ name: 'AES-GCM', iv: bytes.subarray(0, IV_BYTES), additionalData: encoder.encode(topicName(key.room, topic)) }, key.key, bytes.subarray(IV_BYTES))
  } catch {
    return { ok: false, message: `cannot be opened with this room's key: sealed with another passphrase, for another topic, or changed on the way` }
  }
  try {
    return { ok: true, text: decoder.decode(plain) }
  } catch {
    return { ok: false, message: 'opened, but not UTF-8 text' }
  }
}
