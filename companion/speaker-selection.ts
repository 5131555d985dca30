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
