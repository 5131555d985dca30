/**
 * What turn-taking remembers and how it is told things: its settings, its
 * state, the events it steps on and the effects it asks for (the reducer is
 * turn-taking.ts). Plain data: a node's whole turn-taking is one value.
 */
import type { AikyoTiming } from './aikyo.ts'
import type { Seen } from './reply-tree.ts'
import type { ClosingStage, Vote } from './speaker-selection.ts'
import type { Message, State } from '../protocol/payloads.ts'
import type { VoteRule } from '../protocol/rooms.ts'

export interface TurnSettings {
  /** Lines in one conversation after which the closing walk is forced. */
  turnLimit: number
  /** How long the leader waits for votes before deciding with what arrived (ms). */
  voteWindowMs: number
  /** How much longer the others wait for the leader before deciding themselves (ms). */
  decisionGraceMs: number
  /** How long everyone waits for the chosen speaker's line before choosing another (ms). */
  lineTimeoutMs: number
  /**
   * How long a turn led by an aikyo companion waits for its decision before
   * our companions decide among themselves (ms): longer than any model call
   * it makes, since a decision that comes after ours would be a second one.
   */
  aikyoDecisionMs: number
  /** Who sends a vote: every recipient, or only one whose vote can still be chosen (a named room's rule, protocol/rooms.ts). */
  votes: VoteRule
}

export const DEFAULT_TURN_SETTINGS: TurnSettings = { turnLimit: 12, voteWindowMs: 3000, decisionGraceMs: 2000, lineTimeoutMs: 45_000, aikyoDecisionMs: 30_000, votes: 'every' }

/** The turn limits a person may set, in the page or on a command line. */
export const TURN_LIMIT_BOUNDS = { min: 1, max: 1000 } as const

/** Whether `value` is a turn limit a person may set: a whole number within `TURN_LIMIT_BOUNDS`. */
export function isTurnLimit (value: number): boolean {
  return Number.isInteger(value) && value >= TURN_LIMIT_BOUNDS.min && value <= TURN_LIMIT_BOUNDS.max
}

/** A line of the conversation as the reducer remembers it. */
export interface HistoryLine {
  id: string
  from: string
  to: string[]
  text: string
  /** The line its writer was answering (`metadata.replyTo`), when it says. */
  replyTo?: string
}

/** A line as the reducer remembers it. */
export function historyLineOf (message: Message): HistoryLine {
  const { id, from, to, message: text, metadata } = message.params
  const replyTo = metadata?.replyTo
  return replyTo === undefined ? { id, from, to, text } : { id, from, to, text, replyTo }
}

/** What the brain decides about its next move; `companion.ts` adds the rest of the vote. */
export interface Judgement {
  state: 'speak' | 'listen'
  importance: number
  closing: ClosingStage
}

export interface OpenTurn {
  /** The line being answered. */
  message: HistoryLine
  /** Present companions it addressed (the sender excluded), in `to` order. */
  recipients: string[]
  /** The recipients that vote one by one (ours; aikyo's never do). */
  voters: string[]
  leader: string
  /** What every election for this line draws from (decisions.ts `electionHash`), taken when it arrived. */
  electionHash: string
  /**
   * Who decides: `aikyo` (the leader is an aikyo companion: it judges for
   * everyone and publishes the decision; nobody of ours votes) or `ours`
   * (our voters vote, aikyo recipients stand in with computed states).
   */
  decider: 'ours' | 'aikyo'
  /**
   * An aikyo leader that still owed an earlier decision when this line came
   * may have been busy and dropped it: once it paid that debt, we wait one
   * model call of it (until then) for this line's decision, and then decide
   * without it.
   */
  waitUntil?: number
  openedAt: number
  /** Set once this node (the leader) published its decision. */
  decisionSent: boolean
  /** Decisions that arrived but do not (yet) match the votes seen for this line. */
  held: Vote[][]
}

export interface Conversation {
  /** Lines said in this conversation. */
  lines: number
  closing: ClosingStage
  /** No conversation is going on: the next line starts a new one. */
  resting: boolean
}

/** A vote seen for a line (its line may not have arrived yet). */
export interface Ballot { messageId: string, vote: Vote }

/** A decision an aikyo leader owes: for `line`, which came at `since`. */
export interface AikyoDebt {
  leader: string
  line: string
  /** The line's addressees: the array judges each of them. */
  to: string[]
  since: number
  /** An answer to the line came (so the leader has decided; its array is on its way). */
  answered: boolean
}

/** What a node remembers of the aikyo companions in its room. */
export interface AikyoState {
  /** Present companions of aikyo's make, id -> name. */
  names: Record<string, string>
  /** aikyo companions chosen to speak whose line has not come (busy with their model), id -> since. */
  writing: Record<string, number>
  /**
   * Decisions aikyo leaders owe, oldest first: one per turn an aikyo
   * companion led. An answer can come before the decision did (by another
   * path); the array that comes later pays its debt and decides nothing.
   */
  owed: AikyoDebt[]
  timing: Record<string, AikyoTiming>
}

const NO_AIKYO: AikyoState = { names: {}, writing: {}, owed: [], timing: {} }

export interface TurnState {
  self: string
  selfName: string
  settings: TurnSettings
  /** Companion ids present (this one included). */
  present: string[]
  /** The aikyo companions present, and what we know of their models and debts (kept by aikyo-turns.ts). */
  aikyo: AikyoState
  /** The last lines, oldest first (at most HISTORY_LIMIT). */
  history: HistoryLine[]
  /** The line the conversation hangs on: the last one that opened a turn. */
  head: HistoryLine | null
  /** Recent lines as a reply tree (at most SEEN_LIMIT), oldest first. */
  seen: Seen[]
  conversation: Conversation
  turn: OpenTurn | null
  /** A speaker was chosen and its line has not come yet. */
  awaiting: Awaiting | null
  /** Votes seen for recent lines (also those whose line has not arrived yet), oldest first. */
  ballots: Ballot[]
  /** Our vote, judged and not sent yet (`could-win`: it goes at `at` if no better vote came by then). */
  unsentVote: { messageId: string, vote: Vote, at: number } | null
  /** The line our brain is judging, if any. */
  judging: string | null
  /** Our brain is writing a line; any other line arriving meanwhile discards it. */
  writing: { id: number, vote: Vote | null } | null
  /** Numbers the writes, so a late answer to a discarded one is recognised. */
  writes: number
}

export interface Awaiting {
  message: HistoryLine
  /** The decided votes; if the speaker leaves or stays silent, the next best of them speaks. */
  votes: Vote[]
  speaker: string
  since: number
}

export const HISTORY_LIMIT = 10
/** Lines remembered as the reply tree. */
export const SEEN_LIMIT = 256
/** Votes remembered, across recent lines. */
export const BALLOT_LIMIT = 128

export type TurnEvent =
  | { type: 'message', message: Message }
  /** Lines said in the room before this companion came (the relay's history), oldest first: context, not turns. */
  | { type: 'remembered', messages: Message[] }
  /** States published by `author` (a companion id, when the publishing peer is a known companion's). */
  | { type: 'states', states: State[], author?: string }
  | { type: 'judged', messageId: string, judgement: Judgement | null }
  | { type: 'written', id: number, ok: boolean }
  /** Who is present; `aikyo` names those of aikyo's make (id -> name). */
  | { type: 'presence', present: string[], aikyo?: Record<string, string> }
  | { type: 'tick' }

/** Everything the thin layer must do; the reducer never does it itself. */
export type TurnEffect =
  | { type: 'judge', message: HistoryLine, selected: boolean, conversation: Conversation }
  | { type: 'publish-vote', state: State }
  /** Publish the leader's decision on line `messageId`; not before `notBefore` (an aikyo speaker still busy would drop it). */
  | { type: 'publish-decision', messageId: string, states: State[], notBefore?: number }
  /**
   * Write the next line: answering `replyTo` with the winning `vote`, or
   * greeting a newcomer. Publish it with `metadata.replyTo = after`.
   */
  | { type: 'write', id: number, vote: Vote | null, replyTo: HistoryLine | null, greet: string | null, after: string | null, conversation: Conversation }
  | { type: 'publish-line', id: number }
  /** Drop the line being written (stop the brain if it is still at it). */
  | { type: 'discard-line', id: number, reason: string }
  /** For the page: who voted what on a line, and who got the turn. */
  | { type: 'decided', messageId: string, votes: Vote[], speaker: string | null, by: DecidedBy }
  | { type: 'rest', reason: string }

/** How a speaker was chosen: all votes in, our leader's array, an aikyo leader's array, timeout, or the chosen one left. */
export type DecidedBy = 'votes' | 'leader' | 'aikyo' | 'fallback' | 'speaker-gone'

export interface StepResult { state: TurnState, effects: TurnEffect[] }

export function initialTurnState (self: string, selfName: string, settings: TurnSettings = DEFAULT_TURN_SETTINGS): TurnState {
  return {
    self,
    selfName,
    settings,
    present: [self],
    aikyo: NO_AIKYO,
    history: [],
    head: null,
    seen: [],
    ballots: [],
    conversation: { lines: 0, closing: 'none', resting: true },
    turn: null,
    awaiting: null,
    unsentVote: null,
    judging: null,
    writing: null,
    writes: 0
  }
}
