/**
 * What a companion tells whoever watches it (a page, a log): its status,
 * its votes, who got the turn, why it rests, how its brain fares, and the
 * conversation as a page shows it.
 */
import type { Query } from '../protocol/payloads.ts'
import type { QueryOutcome } from './queries.ts'
import type { ClosingStage, Vote } from './speaker-selection.ts'
import type { DecidedBy, TurnState } from './turn-state.ts'

export type CompanionStatus =
  | 'resting' // no conversation going on
  | 'listening' // a conversation goes on; not our turn
  | 'judging' // the brain is weighing whether to speak
  | 'writing' // our turn: the brain is writing the line

export type CompanionEvent =
  | { type: 'status', status: CompanionStatus }
  | { type: 'vote', messageId: string, vote: Vote }
  | { type: 'decided', messageId: string, votes: Vote[], speaker: string | null, by: DecidedBy }
  | { type: 'rest', reason: string }
  | { type: 'line-discarded', reason: string }
  | { type: 'brain-error', message: string }
  /** The brain answered again after a `brain-error`. */
  | { type: 'brain-ok' }
  | { type: 'query-result', query: Query, outcome: QueryOutcome }
  /** What the conversation looks like from here changed (for a page to show). */
  | { type: 'conversation', view: ConversationView }

/** The conversation as a page shows it. */
export interface ConversationView {
  /** Who was chosen and has not spoken yet (a companion id), or null. */
  holder: string | null
  closing: ClosingStage
  resting: boolean
  /** Our vote on the open line, while its speaker is not chosen yet. */
  wants: Vote | null
}

/** What the companion is doing, by its turn-taking state. */
export function statusOf (state: TurnState): CompanionStatus {
  if (state.writing !== null) return 'writing'
  if (state.judging !== null) return 'judging'
  return state.conversation.resting ? 'resting' : 'listening'
}

/** The conversation as a page shows it, by the companion's turn-taking state. */
export function conversationViewOf (state: TurnState): ConversationView {
  const open = state.turn?.message.id
  const wants = open === undefined ? null : [...state.ballots].reverse().find(b => b.messageId === open && b.vote.from === state.self)?.vote ?? null
  return { holder: state.awaiting?.speaker ?? (state.writing !== null ? state.self : null), closing: state.conversation.closing, resting: state.conversation.resting, wants }
}
