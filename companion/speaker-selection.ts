/**
 * aikyo's turn-taking rules that decide who speaks next, as pure functions
 * (docs/protocol.md, "Turn-taking"). No clock, no network: the companion
 * runtime feeds them the states that arrived and acts on the answer.
 */
import type { State } from '../protocol/payloads.ts'
import { CLOSING_STAGES } from '../protocol/payloads.ts'

export type Vote = State['params']
export type ClosingStage = typeof CLOSING_STAGES[number]

/**
 * Better vote first: higher importance, then the smaller companion id, so
 * that every node, whatever order the states arrived in, picks the same one.
 */
function compareVotes (a: Vote, b: Vote): number {
  if (a.importance !== b.importance) return b.importance - a.importance
  return a.from < b.from ? -1 : a.from > b.from ? 1 : 0
}

/**
 * The next speaker: among votes with `selected`, the most important; else
 * among `speak` votes, the most important; else nobody (the turn ends).
 * A companion that voted twice counts with its last vote.
 */
export function selectSpeaker (votes: readonly Vote[]): Vote | undefined {
  const latest = new Map<string, Vote>()
  for (const vote of votes) latest.set(vote.from, vote)
  const all = [...latest.values()]
  const selected = all.filter(v => v.selected).sort(compareVotes)
  if (selected.length > 0) return selected[0]
  return all.filter(v => v.state === 'speak').sort(compareVotes)[0]
}

/** Whether a vote can be chosen at all: it asks for the turn, or the line asked its voter by name. */
const counts = (vote: Vote): boolean => vote.selected || vote.state === 'speak'

/** Whether `a` would be chosen before `b` (selectSpeaker's order). A vote that counts for nothing comes before nothing. */
export function outranks (a: Vote, b: Vote): boolean {
  if (!counts(a)) return false
  if (!counts(b)) return true
  if (a.selected !== b.selected) return a.selected
  return compareVotes(a, b) < 0
}

/**
 * Whether `vote` can still be chosen, given the other votes seen for its
 * line: it counts, and none of them outranks it. In a named room a vote that
 * cannot is never sent (see `voteDelayMs`).
 */
export function couldWin (vote: Vote, seen: readonly Vote[]): boolean {
  return counts(vote) && !seen.some(other => other.from !== vote.from && outranks(other, vote))
}

/**
 * How long after judging a companion of a named room holds its vote before
 * sending it, if by then no better vote was seen (`couldWin`): better votes
 * go first, so most worse ones are never sent. A vote for a line that asked
 * its voter by name goes at once; a `speak` vote waits one slot for each
 * point of importance under 10, and a share of one slot (`jitter`, in [0, 1),
 * the same on every run for the same voter and line) that spreads votes of
 * equal importance. A slot is a 33rd of the vote window (91 ms of 3 s), so
 * every vote that may win is out within the first third of it.
 */
export function voteDelayMs (vote: Vote, jitter: number, voteWindowMs: number): number {
  if (vote.selected) return 0
  const slot = voteWindowMs / 33
  return Math.round((10 - Math.min(10, Math.max(0, vote.importance)) + jitter) * slot)
}

/** The closing walk: none -> pre-closing -> closing -> terminal, and terminal stays. */
export function nextClosingStage (stage: ClosingStage): ClosingStage {
  const index = CLOSING_STAGES.indexOf(stage)
  return CLOSING_STAGES[Math.min(index + 1, CLOSING_STAGES.length - 1)]
}

/** Character-bigram sets: cheap, language-agnostic (works for Japanese too). */
function bigrams (text: string): Set<string> {
  const normalized = text.toLowerCase().replace(/\s+/g, ' ').trim()
  const grams = new Set<string>()
  for (let i = 0; i < normalized.length - 1; i++) grams.add(normalized.slice(i, i + 2))
  if (normalized.length === 1) grams.add(normalized)
  return grams
}

/** Similarity of two lines in [0, 1] (Dice coefficient over character bigrams). */
export function lineSimilarity (a: string, b: string): number {
  const x = bigrams(a)
  const y = bigrams(b)
  if (x.size === 0 && y.size === 0) return 1
  let shared = 0
  for (const gram of x) if (y.has(gram)) shared++
  return (2 * shared) / (x.size + y.size)
}

/** How repetitive the last five lines are: their mean pairwise similarity, in [0, 1]. */
export function repetitionScore (lines: readonly string[]): number {
  const recent = lines.slice(-5)
  let total = 0
  let pairs = 0
  for (let i = 0; i < recent.length; i++) {
    for (let j = i + 1; j < recent.length; j++) {
      total += lineSimilarity(recent[i], recent[j])
      pairs++
    }
  }
  return pairs === 0 ? 0 : total / pairs
}

/** aikyo pushes toward closing when the last five lines score above this. */
export const REPETITION_THRESHOLD = 0.7
