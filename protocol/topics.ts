/**
 * Names every node on the wire agrees on: the five GossipSub topics of the
 * aikyo protocol, the companion-metadata stream protocol, and the size cap.
 * Nothing else in the project spells these strings.
 */

/** The five GossipSub topics, in the order people read about them. */
export const TOPICS = ['messages', 'actions', 'states', 'queries', 'query-results'] as const

export type Topic = typeof TOPICS[number]

/** Narrows any value to one of the five topic names. */
export function isTopic (value: unknown): value is Topic {
  return typeof value === 'string' && (TOPICS as readonly string[]).includes(value)
}

/**
 * Every node of ours (tab, relay, headless companion) identifies itself with
 * this agent version, so that a peer of another make (an aikyo node) can be
 * told apart and met on its terms (see p2p/presence.ts).
 */
export const KOTOBA_AGENT = 'kotoba/1'

/** Stream protocol over which a companion serves its card (see docs/protocol.md). */
export const METADATA_PROTOCOL = '/aikyo/metadata/1.0.0'

/**
 * Largest payload (UTF-8 bytes of one JSON value) accepted on any topic.
 * Conversation lines are short; 64 KiB leaves room for rich metadata while
 * keeping a flood of junk cheap to refuse.
 */
export const MAX_PAYLOAD_BYTES = 64 * 1024
