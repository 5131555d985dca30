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
  /** The longest model call seen (its leader's decision time), or a guess. */
  callMs: number
  /** It is busy with its model until then (after its line, one more call). */
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
 * When an aikyo companion that just said its line is free again: after one
 * more model call (aikyo's agent goes on after its speak tool). Its line came
 * two calls after it was chosen; the longest call seen counts too. Guessed
 * long rather than short: a line that comes while it is busy is lost.
 */
export function afterLine (timing: AikyoTiming | undefined, writingMs: number | undefined, now: number): AikyoTiming {
  const callMs = Math.max(timing?.callMs ?? 0, writingMs === undefined ? AIKYO_CALL_GUESS_MS : writingMs / 2)
  return { callMs, freeAt: busyUntil(callMs, now) }
}

/**
 * When an aikyo companion that starts a model call taking about `callMs`
 * now is surely done with it: half as long again and half a second more,
 * since a line that reaches it while it is busy is lost.
 */
export function busyUntil (callMs: number, now: number): number {
  return now + 1.5 * callMs + 500
}

/** Its leader took `ms` to decide: one model call; we keep the longest seen. */
export function sawCall (timing: AikyoTiming | undefined, ms: number): AikyoTiming {
  const callMs = Math.max(timing?.callMs ?? 0, ms)
  return { callMs, freeAt: timing?.freeAt ?? 0 }
}
