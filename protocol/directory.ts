/**
 * A room's directory: who is in the room, with the addresses to link to them
 * directly and their cards, carried on the room's directory topic
 * (protocol/rooms.ts). Five messages, JSON, each signed by its author
 * (GossipSub), so the author of an `announce` or `leave` is the peer it is
 * about:
 *
 * - `announce` (a companion node, or a tab without a companion): its
 *   addresses and its card (null: not a companion). Fast while joining, then
 *   once a minute (p2p/room-directory.ts).
 * - `roster` (a relay): who else is in the room, sent `for` a peer of its own
 *   that announced itself for the first time, so a newcomer knows everyone
 *   at once (and links to them: only the newcomer dials from a roster).
 * - `leave` (a node): it is going.
 * - `gone` (a relay): peers of its own that disconnected and did not come back.
 * - `vouch` (a relay): companions of aikyo's make it is connected to. aikyo
 *   nodes do not announce themselves (they only serve their card to whoever
 *   asks), so their relay asks and tells the room, again once a minute;
 *   rosters list them too, marked `aikyo` (they never vote one by one, and
 *   are reached over TCP only: nobody links to them from a roster).
 */
import * as v from 'valibot'
import { parseJson } from './codec.ts'
import { CompanionCardSchema } from './payloads.ts'
import type { CompanionCard } from './payloads.ts'

/** A directory message is small; anything larger is refused. */
export const MAX_DIRECTORY_BYTES = 32 * 1024
/** Addresses one peer may give. */
const MAX_ADDRS = 16
/** Entries in one roster: enough to pick links from, bounded whatever the room's size. */
export const MAX_ROSTER = 64
/** Members of a room a node or relay keeps at most; an announcement beyond is not kept (the peer still converses). */
export const MAX_MEMBERS = 4096

const Addrs = v.pipe(v.array(v.pipe(v.string(), v.maxLength(512))), v.maxLength(MAX_ADDRS))
const PeerIdSchema = v.pipe(v.string(), v.minLength(1), v.maxLength(128))
/** A card, as exactly the five fields aikyo accepts; null for a node that is no companion. */
const ExactCard = v.pipe(CompanionCardSchema, v.transform(({ id, name, personality, story, sample }): CompanionCard => ({ id, name, personality, story, sample })))
const Card = v.nullable(ExactCard)

const RosterEntrySchema = v.object({ peer: PeerIdSchema, addrs: Addrs, card: Card, aikyo: v.optional(v.literal(true)) })
export type RosterEntry = v.InferOutput<typeof RosterEntrySchema>

export const DirectoryMessageSchema = v.variant('type', [
  v.object({ type: v.literal('announce'), addrs: Addrs, card: Card }),
  v.object({ type: v.literal('roster'), for: PeerIdSchema, peers: v.pipe(v.array(RosterEntrySchema), v.maxLength(MAX_ROSTER)) }),
  v.object({ type: v.literal('leave') }),
  v.object({ type: v.literal('gone'), peers: v.pipe(v.array(PeerIdSchema), v.maxLength(MAX_ROSTER)) }),
  v.object({ type: v.literal('vouch'), peers: v.pipe(v.array(v.object({ peer: PeerIdSchema, addrs: Addrs, card: ExactCard })), v.maxLength(MAX_ROSTER)) })
])
export type DirectoryMessage = v.InferOutput<typeof DirectoryMessageSchema>

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeDirectoryMessage (message: DirectoryMessage): Uint8Array {
  return encoder.encode(JSON.stringify(message))
}

/** The entries of a roster that came another way (a relay's HTTP answer) that are entries, at most MAX_ROSTER. */
export function checkRoster (entries: unknown[]): RosterEntry[] {
  return entries.slice(0, MAX_ROSTER).flatMap((entry) => {
    const parsed = v.safeParse(RosterEntrySchema, entry)
    return parsed.success ? [parsed.output] : []
  })
}

/** Decodes a directory message; undefined for anything else (too large, not UTF-8 JSON, not one of the five). */
export function decodeDirectoryMessage (data: Uint8Array): DirectoryMessage | undefined {
  if (data.byteLength > MAX_DIRECTORY_BYTES) return undefined
  let text: string
  try {
    text = decoder.decode(data)
  } catch {
    return undefined
  }
  const json = parseJson(text)
  if (!json.ok) return undefined
  const parsed = v.safeParse(DirectoryMessageSchema, json.value)
  return parsed.success ? parsed.output : undefined
}
