/**
 * Who decides a turn, and recognising the decision: aikyo 1.6's leader
 * election (md5 of the line mod the number of recipients), and matching a
 * leader's decision (an array of states without `messageId`) to the votes
 * seen for a line. Pure: no clock, no network.
 */
import { md5 } from '@noble/hashes/legacy.js'
import type { Message } from '../protocol/payloads.ts'
import type { Vote } from './speaker-selection.ts'

/** A vote seen for a line (its line may not have arrived yet). */
export interface Ballot { messageId: string, vote: Vote }

const encoder = new TextEncoder()

/**
 * The message as aikyo serialises it before hashing (zod output: schema key
 * order, unknown params fields dropped), so both elect the same leader.
 */
function canonicalJson (message: Message): string {
  const p = message.params
  const params: Record<string, unknown> = { id: p.id, from: p.from, to: p.to, message: p.message }
  if (p.metadata !== undefined) params.metadata = p.metadata
  return JSON.stringify({ jsonrpc: '2.0', method: 'message.send', params })
}

/** aikyo 1.6's leader: md5(JSON of the message) mod the number of recipients. */
export function electLeader (message: Message, recipients: readonly string[]): string | undefined {
  if (recipients.length === 0) return undefined
  let value = 0n
  for (const byte of md5(encoder.encode(canonicalJson(message)))) value = (value << 8n) | BigInt(byte)
  return recipients[Number(value % BigInt(recipients.length))]
}

/** The latest vote of each companion for one line. */
export function votesFor (ballots: readonly Ballot[], messageId: string): Vote[] {
  const latest = new Map<string, Vote>()
  for (const b of ballots) if (b.messageId === messageId) latest.set(b.vote.from, b.vote)
  return [...latest.values()]
}

const sameVote = (a: Vote, b: Vote): boolean =>
  a.from === b.from && a.state === b.state && a.importance === b.importance && a.selected === b.selected && a.closing === b.closing

/** Every entry of the decision is the latest vote seen from that companion for that line. */
export function matches (decision: readonly Vote[], votes: readonly Vote[]): boolean {
  return decision.length > 0 && decision.every(d => votes.some(v => sameVote(v, d)))
}

/** Some entry differs from a vote seen from that companion for that line. */
export function contradicts (decision: readonly Vote[], votes: readonly Vote[]): boolean {
  return decision.some(d => votes.some(v => v.from === d.from && !sameVote(v, d)))
}

/** The decision is made of the votes seen for some line other than the open one. */
export function matchesOtherLine (ballots: readonly Ballot[], decision: readonly Vote[], messageId: string): boolean {
  const others = new Set(ballots.map(b => b.messageId).filter(id => id !== messageId))
  for (const id of others) if (matches(decision, votesFor(ballots, id))) return true
  return false
}
