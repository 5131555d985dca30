/**
 * Rooms: many conversations on one LAN. A room is a name; each room has its
 * own five topics (and its own directory topic, protocol/directory.ts), so companions converse,
 * take turns and see who is here only within their room. The default room is
 * aikyo's five topics, unchanged: aikyo peers and every client that knows
 * nothing of rooms are in it.
 *
 * A room whose name starts with `~` is private: its five topics carry payloads
 * sealed with a key only its members hold (protocol/private-rooms.ts).
 *
 * Nothing else in the project spells a room's topic names.
 */
import { KOTOBA_AGENT, TOPICS, isTopic } from './topics.ts'
import type { Topic } from './topics.ts'

/** A checked, case-folded room name (parse it with `parseRoomName`). */
export type RoomName = string & { readonly __room: unique symbol }

/** The room of a page without `?room=`, of aikyo peers and of clients that name none. */
export const DEFAULT_ROOM = 'lobby' as RoomName

export const ROOM_NAME_MAX = 64

const ROOM_NAME = /^~?[a-z0-9_-]{1,64}$/

/** What every way in (page, firehose, flags, HTTP) says about a bad room name. */
export const ROOM_NAME_RULE = `a room name has 1 to ${ROOM_NAME_MAX} characters, each a-z, 0-9, - or _ (a private room's name starts with ~)`

/** A private room's name starts with this (protocol/private-rooms.ts: its payloads travel sealed). */
export const PRIVATE_ROOM_MARK = '~'

/** A private room: its five topics carry sealed payloads only (protocol/private-rooms.ts). */
export const isPrivateRoom = (room: RoomName): boolean => room.startsWith(PRIVATE_ROOM_MARK)

/**
 * Checks a room name as a person or a program gave it. Letters are case-folded
 * (`Class-3B` is `class-3b`); anything else outside the rule is an error, not
 * something quietly changed into another room.
 */
export function parseRoomName (value: unknown): { ok: true, room: RoomName } | { ok: false, message: string } {
  if (typeof value !== 'string') return { ok: false, message: `${ROOM_NAME_RULE}; got ${value === undefined ? 'nothing' : typeof value}` }
  // Checked before folding: toLowerCase maps a few other letters into a-z (K, the Kelvin sign, is k).
  const folded = value.toLowerCase()
  if (!/^~?[A-Za-z0-9_-]{1,64}$/.test(value)) {
    const shown = value.length > 80 ? `${value.slice(0, 80)}…` : value
    return { ok: false, message: `${ROOM_NAME_RULE}; got ${JSON.stringify(shown)}` }
  }
  return { ok: true, room: folded as RoomName }
}

/** `parseRoomName` for a value that must be good (flags, code): throws a TypeError with the rule. */
export function roomName (value: string): RoomName {
  const parsed = parseRoomName(value)
  if (!parsed.ok) throw new TypeError(parsed.message)
  return parsed.room
}

/** Every named room's topics start with this. */
const ROOM_PREFIX = 'kotoba/room/'

/**
 * Who sends a vote on a line in `room`: in the default room every recipient
 * does (aikyo's wire behaviour, which aikyo companions there count on); in a
 * named room only a recipient whose vote can still be chosen (`could-win`),
 * so a line costs a few votes instead of one from every member
 * (docs/protocol.md, "Votes in named rooms").
 */
export type VoteRule = 'every' | 'could-win'
export const voteRuleOf = (room: RoomName): VoteRule => room === DEFAULT_ROOM ? 'every' : 'could-win'

/** The GossipSub topic that carries `topic` in `room`. */
export function topicName (room: RoomName, topic: Topic): string {
  return room === DEFAULT_ROOM ? topic : `${ROOM_PREFIX}${room}/${topic}`
}

/** The topic of the room's directory: who is in it, their addresses and cards (not one of aikyo's topics). */
export function directoryTopicName (room: RoomName): string {
  return room === DEFAULT_ROOM ? 'kotoba/directory' : `${ROOM_PREFIX}${room}/directory`
}

/** Every GossipSub topic of `room`: its five topics, then its directory topic. */
export function roomTopicNames (room: RoomName): string[] {
  return [...TOPICS.map(topic => topicName(room, topic)), directoryTopicName(room)]
}

/** Which room and topic a GossipSub topic name is, if it is one of a room's five. */
export function parseTopicName (name: string): { room: RoomName, topic: Topic } | undefined {
  if (isTopic(name)) return { room: DEFAULT_ROOM, topic: name }
  return roomOfTopic(name, (rest) => isTopic(rest) ? rest : undefined)
}

/** The room a GossipSub topic belongs to (one of its five or its directory topic), if any. */
export function roomOfTopicName (name: string): RoomName | undefined {
  if (isTopic(name) || name === directoryTopicName(DEFAULT_ROOM)) return DEFAULT_ROOM
  return roomOfTopic(name, (rest) => isTopic(rest) || rest === 'directory' ? rest : undefined)?.room
}

function roomOfTopic<T> (name: string, kind: (rest: string) => T | undefined): { room: RoomName, topic: T } | undefined {
  if (!name.startsWith(ROOM_PREFIX)) return undefined
  const slash = name.indexOf('/', ROOM_PREFIX.length)
  if (slash < 0) return undefined
  const room = name.slice(ROOM_PREFIX.length, slash)
  const topic = kind(name.slice(slash + 1))
  // The default room has no prefixed topics, and a name must be exactly as parseRoomName leaves it.
  if (topic === undefined || room === DEFAULT_ROOM || !ROOM_NAME.test(room)) return undefined
  return { room: room as RoomName, topic }
}

/**
 * The agent version (identify) of a companion node of ours in `room`: a peer
 * knows which room a companion is in as soon as it is connected, before any
 * card or subscription is exchanged.
 */
export function companionAgent (room: RoomName): string {
  return `${KOTOBA_AGENT} room/${room}`
}

/**
 * The room a peer's companion is in, by its agent version: a node of ours
 * says it (none for a relay); a peer of another make (aikyo) knows nothing
 * of rooms and is in the default room.
 */
export function roomOfAgent (agent: string | undefined): RoomName | undefined {
  if (agent === undefined || !agent.startsWith(KOTOBA_AGENT)) return DEFAULT_ROOM
  const room = / room\/(~?[a-z0-9_-]{1,64})(?:\s|$)/.exec(agent)?.[1]
  return room as RoomName | undefined
}
