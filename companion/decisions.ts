/**
 * Who decides a turn, and recognising the decision: aikyo 1.6's leader
 * election (md5 of the line mod the number of recipients), and matching a
 * leader's decision (an array of states without `messageId`) to the votes
 * seen for a line. Pure: no clock, no network.
 */
import { md5 } from '@noble/hashes/legacy.js'
import type { Message } from '../protocol/payloads.ts'
import type { Vote } from './speaker-selection.ts'
import type { Ballot, HistoryLine } from './turn-state.ts'

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

/**
 * What a line's election is drawn from: md5 of the message as aikyo hashes
 * it, as a hex string. Computed once, when the line arrives, and kept with
 * its turn, so every later election for that line draws from the same bytes.
 */
export function electionHash (message: Message): string {
  let hex = ''
  for (const byte of md5(encoder.encode(canonicalJson(message)))) hex += byte.toString(16).padStart(2, '0')
  return hex
}

/** Who a line addresses: present companions named in `to` (all present ones if `to` is empty), minus the sender. */
export function recipientsOf (message: Pick<HistoryLine, 'from' | 'to'>, present: readonly string[]): string[] {
  const addressed = message.to.length === 0 ? [...present].sort() : message.to.filter(id => present.includes(id))
  return [...new Set(addressed)].filter(id => id !== message.from)
}

/**
 * Who a line's election is among (aikyo's `valid`): the line's `to` that are
 * present, in `to` order, repeats and the sender kept. A line to nobody
 * (`to` empty, ours only: it addresses everyone) elects among everyone
 * present but its sender, in id order.
 */
export function electionPool (line: Pick<HistoryLine, 'from' | 'to'>, present: readonly string[]): string[] {
  const valid = line.to.filter(id => present.includes(id))
  return valid.length > 0 || line.to.length > 0 ? valid : [...new Set(present)].filter(id => id !== line.from).sort()
}

/**
 * aikyo 1.6's leader: the election hash mod the size of the pool. `pool`
 * is the line's `electionPool`, narrowed to those who may lead now.
 */
export function electLeader (hash: string, pool: readonly string[]): string | undefined {
  if (pool.length === 0) return undefined
  return pool[Number(BigInt(`0x${hash}`) % BigInt(pool.length))]
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
