/**
 * The brain handed to a companion: it judges whether and how much it wants
 * to speak, and writes its next line with the actions that go with it. The
 * turn-taking rules decide WHEN it speaks; the brain only decides WHAT.
 * Three kinds ship: the built-in brain (no model, no network), the LLM
 * brain over any OpenAI-compatible chat-completions endpoint, and the same
 * model brain thinking with a model file that runs here (`local`).
 */
import { isCompanionId } from '../protocol/ids.ts'
import type { CompanionCard } from '../protocol/payloads.ts'
import type { Vote } from './speaker-selection.ts'
import type { Conversation, HistoryLine, Judgement } from './turn-state.ts'

/** aikyo's stock emotions (its speak tool). */
export const EMOTIONS = ['happy', 'sad', 'angry', 'neutral'] as const
export type Emotion = typeof EMOTIONS[number]

/** Gestures the page knows how to show. */
export const GESTURES = ['wave', 'nod', 'laugh', 'think', 'bow', 'shrug'] as const
export type Gesture = typeof GESTURES[number]

/** What a brain knows when asked. */
export interface BrainContext {
  card: CompanionCard
  /** Other companions present, with their cards. */
  companions: CompanionCard[]
  /** The last lines of the conversation, oldest first. */
  history: HistoryLine[]
  /** A person's or companion's display name for an id; '' for a person who has not said one. */
  nameOf: (id: string) => string
}

export interface JudgeRequest {
  message: HistoryLine
  /** The line asks this companion by name. */
  selected: boolean
  conversation: Conversation
}

export interface WriteRequest {
  /** The line being answered (null when greeting). */
  replyTo: HistoryLine | null
  /** Our winning vote, with the closing stage this line is said at. */
  vote: Vote | null
  /** Greet this newcomer (a companion id) instead of answering. */
  greet: string | null
  conversation: Conversation
}

export interface BrainAction {
  name: 'gesture' | 'emotion'
  params: Record<string, unknown>
}

export interface WrittenLine {
  text: string
  /** Addressees: companion and person ids. */
  to: string[]
  emotion: Emotion
  actions: BrainAction[]
}

export interface Brain {
  readonly kind: 'builtin' | 'llm' | 'local'
  judge: (context: BrainContext, request: JudgeRequest, signal: AbortSignal) => Promise<Judgement>
  write: (context: BrainContext, request: WriteRequest, signal: AbortSignal) => Promise<WrittenLine>
}

/** A brain failed in a way a person should hear about (endpoint down, bad answer). */
export class BrainError extends Error {
  override name = 'BrainError'
}

/**
 * Who a line should address: the one being answered, the other companions
 * present, and the people who spoke in the recent history.
 */
export function defaultAddressees (context: BrainContext, replyTo: HistoryLine | null): string[] {
  const self = context.card.id
  const people = context.history.map(l => l.from).filter(id => !isCompanionId(id))
  const ids = [
    ...(replyTo === null ? [] : [replyTo.from]),
    ...context.companions.map(c => c.id),
    ...people
  ]
  return [...new Set(ids)].filter(id => id !== self)
}
