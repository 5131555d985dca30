/**
 * Sharing turns with aikyo 1.6 companions (shared aikyo-behaviour.md), as
 * pure functions the reducer (turn-taking.ts) uses. aikyo companions never
 * vote one by one: the leader of a line (aikyo's election, which ours is)
 * judges for every addressee and publishes one array, and every aikyo node
 * that is not busy with its model picks the speaker from it by aikyo's rule.
 * An aikyo node busy with its model drops lines and decisions. So:
 *
 * - every node elects the leader exactly as aikyo does (`electionPool`);
 * - when it is an aikyo companion, ours follow its array (`aikyoSpeaker`,
 *   aikyo's rule, so everyone picks the same) and do not vote; unless it is
 *   certainly busy (leading another line, or writing), when it will drop the
 *   line: then ours decide among themselves;
 * - when it is ours, aikyo recipients stand in with a computed state
 *   (`standInVote`), the same on every node, and the leader publishes the
 *   array best first, so aikyo's rule picks from it what ours picks.
 */
import type { HistoryLine, AikyoTiming } from './turn-state.ts'
import type { ClosingStage, Vote } from './speaker-selection.ts'
import { selectSpeaker } from './speaker-selection.ts'

/** Before we have seen an aikyo companion's model at work, we guess a call takes this long (ms). */
export const AIKYO_CALL_GUESS_MS = 3000

/**
 * The companions aikyo's election counts (its `valid`): the line's `to` that
 * are present, in `to` order, repeats and the sender kept. A line to nobody
 * (`to` empty, ours only: it addresses everyone) elects among its recipients.
 */
export function electionPool (line: Pick<HistoryLine, 'to'>, present: readonly string[], recipients: readonly string[]): string[] {
  const valid = line.to.filter(id => present.includes(id))
  return valid.length > 0 ? valid : [...recipients]
}

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
  return { callMs, freeAt: now + 1.5 * callMs + 500 }
}

/** Its leader took `ms` to decide: one model call; we keep the longest seen. */
export function sawCall (timing: AikyoTiming | undefined, ms: number): AikyoTiming {
  const callMs = Math.max(timing?.callMs ?? 0, ms)
  return { callMs, freeAt: timing?.freeAt ?? 0 }
}
