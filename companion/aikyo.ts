/**
 * aikyo 1.6's own rules, as ours mirror them (docs/companions.md, "Sharing
 * turns with aikyo"): how an aikyo node picks the speaker from a decision array, the
 * vote an aikyo recipient stands in with when ours decide, the order that
 * makes aikyo's pick ours, and how long its model keeps it busy. Pure
 * functions; what a node remembers of aikyo companions is aikyo-turns.ts.
 */
import type { ClosingStage, Vote } from './speaker-selection.ts'
import { selectSpeaker } from './speaker-selection.ts'

/** What we know of an aikyo companion's model: how long a call takes, and when it is free again. */
export interface AikyoTiming {
  /** The longest model call seen (half its decision time, half its writing time), or a guess. */
  callMs: number
  /** It is busy with its model until then at the latest (after its line, one more call); a decision it publishes says it is free sooner. */
  freeAt: number
}

/** Before we have seen an aikyo companion's model at work, we guess a call takes this long (ms). */
export const AIKYO_CALL_GUESS_MS = 3000

/**
 * aikyo's pick from a decision array (its `decideNextSpeaker`): among the
 * states of companions present, the `selected` ones by importance, else the
 * `speak` ones by importance; ties go to the first in the array.
 */
export function aikyoSpeaker (states: readonly Vote[], present: readonly string[]): Vote | undefined {
  const valid = states.filter(s => present.includes(s.from))
  const best = (list: Vote[]): Vote | undefined => list.reduce<Vote | undefined>((a, b) => a === undefined || b.importance > a.importance ? b : a, undefined)
  return best(valid.filter(s => s.selected)) ?? best(valid.filter(s => s.state === 'speak'))
}

/**
 * The vote an aikyo recipient stands in with when one of ours leads: asked
 * by name, it is eager to speak (importance 8), else it listens. Computed
 * the same on every node, so ours can decide once their own votes are in.
 */
export function standInVote (id: string, selected: boolean, closing: ClosingStage): Vote {
  return { from: id, state: selected ? 'speak' : 'listen', importance: selected ? 8 : 0, selected, closing }
}

/**
 * A decision array ordered best first by our rule, so that aikyo's rule
 * (ties to the first) picks from it what ours picks.
 */
export function bestFirst (votes: readonly Vote[]): Vote[] {
  const rest = [...votes]
  const ordered: Vote[] = []
  while (rest.length > 0) {
    const next = selectSpeaker(rest) ?? rest.reduce((a, b) => b.importance > a.importance || (b.importance === a.importance && b.from < a.from) ? b : a)
    ordered.push(next)
    rest.splice(rest.indexOf(next), 1)
  }
  return ordered
}

/**
 * Model calls in a row: an aikyo decision is two (the state judge, then the
 * repetition judge), and so is writing a line (the tool instructions, then
 * the agent); after its line the agent makes one more.
 */
export const AIKYO_DECISION_CALLS = 2
export const AIKYO_WRITING_CALLS = 2

/**
 * When an aikyo companion starting `calls` model calls of about `callMs`
 * each now is surely done: half as long again as the longest call seen, as
 * an upper bound; what it publishes meanwhile (a decision) tells sooner.
 */
export function busyUntil (callMs: number, now: number, calls = 1): number {
  return now + calls * callMs * 1.5 + 500
}

/**
 * An aikyo companion said its line: it is busy with one more model call.
 * Its line came two calls after it was chosen (`writingMs`, when we saw it
 * chosen), which tells how long its calls take; the longest seen counts.
 */
export function afterLine (timing: AikyoTiming | undefined, writingMs: number | undefined, now: number): AikyoTiming {
  const callMs = Math.max(timing?.callMs ?? 0, writingMs === undefined ? AIKYO_CALL_GUESS_MS : writingMs / AIKYO_WRITING_CALLS)
  return { callMs, freeAt: busyUntil(callMs, now) }
}

/**
 * An aikyo companion published a decision: its model is done (aikyo
 * publishes when its run ends), so it is free now, whatever we guessed.
 * From the line to the decision (`decisionMs`, when we know which line it
 * decided) were two of its calls.
 */
export function sawDecision (timing: AikyoTiming | undefined, decisionMs: number | undefined, now: number): AikyoTiming {
  const callMs = Math.max(timing?.callMs ?? 0, decisionMs === undefined ? 0 : decisionMs / AIKYO_DECISION_CALLS)
  return { callMs: callMs === 0 ? AIKYO_CALL_GUESS_MS : callMs, freeAt: Math.min(timing?.freeAt ?? now, now) }
}
