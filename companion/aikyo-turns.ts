/**
 * Sharing turns with aikyo 1.6 companions: what a node remembers of the
 * aikyo companions in its room, and the few questions the turn-taking
 * reducer (turn-taking.ts) asks of it. Pure: no clock, no network.
 *
 * aikyo companions never vote one by one: the leader of a line (aikyo's
 * election, which is ours: decisions.ts) judges for every addressee and
 * publishes one array, and every aikyo node not busy with its model picks
 * the speaker from it by aikyo's rule (aikyo.ts). An aikyo node busy with
 * its model drops lines and decisions. So the reducer asks:
 *
 * - who elects: `lineArrived` says whether an aikyo companion will decide
 *   the line (elected, and not busy writing its own line: then it drops it),
 *   and remembers the decision it owes;
 * - whose decision counts: `arrayArrived` matches an aikyo leader's array to
 *   the line it owes it for (decide, wait one more model call, or ignore),
 *   and tells when an array ours would ignore makes an aikyo companion write
 *   anyway (every aikyo node acts on every array it is free to read);
 * - whom we wait for: `aikyoFreeAt` and `decisionToPublish` say when an aikyo
 *   companion will be free of its model again, so nothing is sent to it
 *   while it would drop it; `chosen` and `passedOver` keep who is writing;
 * - who stands in: when ours decide, `standIns` gives each aikyo recipient a
 *   computed vote, the same on every node.
 */
import type { Vote, ClosingStage } from './speaker-selection.ts'
import { AIKYO_CALL_GUESS_MS, AIKYO_DECISION_CALLS, afterLine, aikyoSpeaker, bestFirst, busyUntil, sawDecision, standInVote } from './aikyo.ts'
import { selectSpeaker } from './speaker-selection.ts'
import type { AikyoState, HistoryLine, OpenTurn, TurnSettings } from './turn-state.ts'

/** Decisions owed by aikyo leaders that are remembered at most. */
const OWED_LIMIT = 16

export const isAikyo = (aikyo: AikyoState, id: string): boolean => Object.hasOwn(aikyo.names, id)

/** What the reducer knows when a line arrives that matters to aikyo companions. */
export interface LineContext {
  present: readonly string[]
  /** The line's election pool (decisions.ts), and the leader it elects. */
  elected: string | undefined
  /** The line the open turn is about, if any. */
  openLine: string | undefined
  /** Who was chosen to speak and since when, if their line has not come. */
  awaiting: { speaker: string, since: number } | null
  settings: Pick<TurnSettings, 'lineTimeoutMs' | 'aikyoDecisionMs'>
}

/**
 * A line arrived. Its writer, if one of aikyo's, is done writing and busy
 * with one more model call; debts older than `aikyoDecisionMs` are dropped
 * (the line they were for was dropped). Returns the aikyo companion that will
 * decide the line, if any: the elected one, when it is aikyo's and not busy
 * writing its own line (then it drops the line). aikyo ignores a line to
 * nobody (ours: to everyone). That leader owes the decision from now on,
 * whether or not the line opens a turn here.
 */
export function lineArrived (aikyo: AikyoState, line: HistoryLine, context: LineContext, now: number): { aikyo: AikyoState, leader: string | undefined } {
  const { settings } = context
  const writing = Object.fromEntries(Object.entries(aikyo.writing).filter(([id, since]) => id !== line.from && since > now - settings.lineTimeoutMs))
  // A line that answers the line a leader owes a decision for (ours say
  // which; aikyo's answer the open turn) tells that the leader decided.
  const answers = line.replyTo ?? (isAikyo(aikyo, line.from) ? context.openLine : undefined)
  let owed = aikyo.owed.filter(o => o.since > now - settings.aikyoDecisionMs)
    .map(o => o.line === answers ? { ...o, answered: true } : o)
  let timing = aikyo.timing
  if (isAikyo(aikyo, line.from)) {
    const writingMs = context.awaiting?.speaker === line.from ? now - context.awaiting.since : undefined
    timing = { ...timing, [line.from]: afterLine(timing[line.from], writingMs, now) }
  }
  const leader = line.to.length > 0 && context.elected !== undefined && isAikyo(aikyo, context.elected) && !Object.hasOwn(writing, context.elected)
    ? context.elected
    : undefined
  if (leader !== undefined) owed = [...owed, { leader, line: line.id, to: line.to, since: now, answered: false }].slice(-OWED_LIMIT)
  return { aikyo: { ...aikyo, writing, owed, timing }, leader }
}

/** What to do with an array an aikyo companion published, for the open turn. */
export type ArrayVerdict =
  | { type: 'decide' }
  | { type: 'ignore' }
  /** Wait for its decision on the open line until then (it may have dropped the line while busy). */
  | { type: 'wait', until: number }
  /**
   * The array is for another line, but it picks an aikyo companion free to
   * act on it: that companion writes now, and its line (which names no line
   * it answers) will answer whatever the conversation hangs on. Whoever was
   * to answer that must not, or the line gets two answers.
   */
  | { type: 'aikyo-writes', speaker: string }

/**
 * An array published by aikyo companion `author`: a decision it owed as
 * leader (matched to the line whose addressees it judged; how long it took
 * tells how long its model takes). It decides the open turn if that is the
 * line it was for (or, when aikyo counted other cards than we do, an
 * aikyo-led turn whose addressees it judged); a late one for an older line
 * decides nothing; a turn ours decide goes on without it. Except: an array
 * that decides nothing here but picks, by aikyo's rule, an aikyo companion
 * free to act on it, makes that companion write (`aikyo-writes`).
 */
export function arrayArrived (aikyo: AikyoState, decision: readonly Vote[], author: string, turn: OpenTurn | null, present: readonly string[], settings: Pick<TurnSettings, 'aikyoDecisionMs'>, now: number): { aikyo: AikyoState, verdict: ArrayVerdict } {
  // The decision it owes for the line whose addressees the array judges (aikyo judges each of `to`), the oldest first.
  const judged = JSON.stringify(decision.map(d => d.from).sort())
  const index = aikyo.owed.findIndex(o => o.leader === author && JSON.stringify([...o.to].sort()) === judged)
  const debt = index === -1 ? undefined : aikyo.owed[index]
  const owed = debt === undefined ? aikyo.owed : aikyo.owed.filter((_, i) => i !== index)
  // Its model is done (it published); from the line to its decision were two of its calls.
  const timing = { ...aikyo.timing, [author]: sawDecision(aikyo.timing[author], debt === undefined ? undefined : now - debt.since, now) }
  const next: AikyoState = { ...aikyo, owed, timing }
  // An array that decides nothing here still makes aikyo's nodes pick from
  // it (unless it pays a debt already answered: they picked, and the answer
  // came first): an aikyo companion it picks writes, if free of its model.
  // Its author is (it just published); another is not while it writes its
  // own line or owes a decision (it drops what comes meanwhile).
  const free = (id: string): boolean => id === author || (!Object.hasOwn(next.writing, id) && !owed.some(o => o.leader === id && !o.answered))
  const decidesNothing = (): { aikyo: AikyoState, verdict: ArrayVerdict } => {
    const pick = debt?.answered === true ? undefined : aikyoSpeaker(decision, present)
    if (pick === undefined || pick.closing === 'terminal' || !isAikyo(next, pick.from) || !free(pick.from)) return { aikyo: next, verdict: { type: 'ignore' } }
    // It is busy writing from now (nothing is sent to it meanwhile).
    return { aikyo: { ...next, writing: { ...next.writing, [pick.from]: now } }, verdict: { type: 'aikyo-writes', speaker: pick.from } }
  }
  if (turn === null || turn.decider !== 'aikyo') return decidesNothing()
  if (debt !== undefined) {
    if (debt.line !== turn.message.id) {
      // An older line's, come late. If nobody had answered it yet, the
      // leader was still deciding it when this line came, and may have
      // dropped this one: once it owes nothing older, we wait for one more
      // of its decisions (two model calls) for this line.
      const older = owed.some(o => o.leader === author && !o.answered && o.since < turn.openedAt)
      if (turn.leader !== author || debt.answered || older) return decidesNothing()
      const late = decidesNothing()
      if (late.verdict.type === 'aikyo-writes') return late
      const until = Math.min(turn.openedAt + settings.aikyoDecisionMs, busyUntil(timing[author]?.callMs ?? AIKYO_CALL_GUESS_MS, now, AIKYO_DECISION_CALLS))
      return { aikyo: next, verdict: { type: 'wait', until } }
    }
  } else if (turn.leader === author || judged !== JSON.stringify([...turn.message.to].sort())) {
    // Owed for no line we know: not this one (its leader owes it; or it judged other addressees).
    return decidesNothing()
  }
  // Not owed but judging this line's addressees: an aikyo node that counted other cards than we do.
  return { aikyo: next, verdict: { type: 'decide' } }
}

/** When the open turn led by an aikyo companion stops waiting for its decision. */
export function decisionDeadline (turn: OpenTurn, settings: Pick<TurnSettings, 'aikyoDecisionMs'>): number {
  return turn.waitUntil ?? turn.openedAt + settings.aikyoDecisionMs
}

/** The aikyo leader of `line` will not decide it (it left, or said nothing in time): it owes nothing more. */
export function leaderGone (aikyo: AikyoState, line: string): AikyoState {
  return { ...aikyo, owed: aikyo.owed.filter(o => o.line !== line) }
}

/**
 * `winner` was chosen to speak on `line`. An aikyo speaker is busy writing
 * until its line comes; unless it was busy deciding another line when
 * chosen (then it may have dropped this decision).
 */
export function chosen (aikyo: AikyoState, winner: Vote | undefined, line: string, now: number): AikyoState {
  if (winner === undefined || winner.closing === 'terminal' || !isAikyo(aikyo, winner.from)) return aikyo
  const deciding = aikyo.owed.some(o => o.leader === winner.from && !o.answered && o.line !== line)
  return deciding ? aikyo : { ...aikyo, writing: { ...aikyo.writing, [winner.from]: now } }
}

/** The chosen speaker left or stayed silent too long: it is writing no more. */
export function passedOver (aikyo: AikyoState, speaker: string): AikyoState {
  return { ...aikyo, writing: Object.fromEntries(Object.entries(aikyo.writing).filter(([id]) => id !== speaker)) }
}

/**
 * The votes aikyo recipients stand in with when ours decide: asked by name,
 * eager to speak; else listening. Computed alike on every node.
 */
export function standIns (aikyo: AikyoState, turn: OpenTurn, present: readonly string[], named: (id: string, name: string) => boolean, closing: ClosingStage): Vote[] {
  return turn.recipients.filter(id => isAikyo(aikyo, id) && present.includes(id))
    .map(id => standInVote(id, named(id, aikyo.names[id]), closing))
}

/**
 * How our leader publishes its decision: best first (aikyo's nodes, which
 * take the first of equals, then pick what we pick), and, when the speaker
 * is an aikyo companion still busy with its model (it would drop the
 * decision), not before it is free. Nothing when no vote is ours (an empty
 * or stand-in array could end a newer turn; everyone falls back).
 */
export function decisionToPublish (aikyo: AikyoState, votes: readonly Vote[], now: number): { ordered: Vote[], notBefore?: number } | undefined {
  if (votes.every(v => isAikyo(aikyo, v.from))) return undefined
  const ordered = bestFirst(votes)
  const winner = selectSpeaker(ordered)
  const freeAt = winner === undefined || !isAikyo(aikyo, winner.from) ? undefined : aikyo.timing[winner.from]?.freeAt
  return freeAt !== undefined && freeAt > now ? { ordered, notBefore: freeAt } : { ordered }
}

/**
 * When every aikyo companion among `to` that is present is free of its
 * model (one that just said a line makes one more call), if any is busy: a
 * line sent before would be dropped, so its writer waits till then.
 */
export function aikyoFreeAt (aikyo: AikyoState, to: readonly string[], present: readonly string[]): number | undefined {
  const times = to.filter(id => isAikyo(aikyo, id) && present.includes(id))
    .flatMap(id => aikyo.timing[id] === undefined ? [] : [aikyo.timing[id].freeAt])
  return times.length === 0 ? undefined : Math.max(...times)
}
