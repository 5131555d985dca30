/**
 * A companion at work: the thin layer between the network, the turn-taking
 * reducer and the brain. Payloads in -> reducer events; reducer effects ->
 * brain calls and payloads out. It runs the same in a tab and in Node: it
 * only needs a `publish` function and to be fed what arrives.
 *
 * It never writes two lines at once (a new write aborts the old one) and
 * never blocks: the brain is awaited off the event path.
 */
import type { TopicPayload } from '../protocol/codec.ts'
import { nameFromId, randomId } from '../protocol/ids.ts'
import { isQuery } from '../protocol/payloads.ts'
import type { Action, CompanionCard, Message, PublishedPayloads, Query } from '../protocol/payloads.ts'
import type { Topic } from '../protocol/topics.ts'
import type { Brain, BrainContext, WrittenLine } from './brain.ts'
import { PendingQueries } from './queries.ts'
import type { QueryOutcome } from './queries.ts'
import { DEFAULT_TURN_SETTINGS, initialTurnState } from './turn-state.ts'
import { aikyoFreeAt, nextDeadline, step } from './turn-taking.ts'
import type { DecidedBy, TurnEffect, TurnEvent, TurnSettings, TurnState } from './turn-state.ts'
import type { ClosingStage, Vote } from './speaker-selection.ts'

export interface CompanionSettings extends TurnSettings {
  /** The least time between the line answered and our answer (ms): a human pace. */
  paceMs: number
  /** How long a query waits for a client's result (ms). */
  queryTimeoutMs: number
  /** Ask clients to say our lines aloud (`query.send` type `speak`). */
  speakQueries: boolean
}

export const DEFAULT_COMPANION_SETTINGS: CompanionSettings = {
  ...DEFAULT_TURN_SETTINGS, paceMs: 1200, queryTimeoutMs: 30_000, speakQueries: true
}

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

export type { QueryOutcome } from './queries.ts'

/** A companion present in the room, as the companion is told of it. */
export interface PresentCompanion {
  card: CompanionCard
  /** The peer that serves its card (signs what it publishes), when known. */
  peer?: string
  /** Of aikyo's make: it never votes one by one. */
  aikyo?: boolean
}

export interface CompanionOptions {
  card: CompanionCard
  brain: Brain
  publish: <T extends Topic>(topic: T, payload: PublishedPayloads[T]) => Promise<void>
  settings?: Partial<CompanionSettings>
  now?: () => number
}

export class Companion {
  #card: CompanionCard
  #brain: Brain
  readonly #publish: CompanionOptions['publish']
  readonly #now: () => number
  #settings: CompanionSettings
  #state: TurnState
  #cards = new Map<string, CompanionCard>()
  /** Companion id by the peer id that serves its card. */
  #peers = new Map<string, string>()
  #names = new Map<string, string>()
  #listeners = new Set<(event: CompanionEvent) => void>()
  #timer: ReturnType<typeof setTimeout> | undefined
  #judging: AbortController | undefined
  #writing: { id: number, abort: AbortController } | undefined
  /** Lines written and waiting for the reducer's go-ahead, by write id. */
  #written = new Map<number, { line: WrittenLine, after: string | null }>()
  #queries = new PendingQueries()
  #status: CompanionStatus = 'resting'
  #stopped = false
  /** The last brain call failed (a `brain-error` was emitted). */
  #brainFailing = false
  #lastView: ConversationView | undefined

  constructor (options: CompanionOptions) {
    this.#card = options.card
    this.#brain = options.brain
    this.#publish = options.publish
    this.#now = options.now ?? Date.now
    this.#settings = { ...DEFAULT_COMPANION_SETTINGS, ...options.settings }
    this.#state = initialTurnState(this.#card.id, this.#card.name, this.#settings)
  }

  get card (): CompanionCard { return this.#card }
  get status (): CompanionStatus { return this.#status }
  get turnState (): TurnState { return this.#state }

  /** Listen to what the companion does (for the page). Returns the unsubscribe. */
  onEvent (listener: (event: CompanionEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  /** A person edited the card; the id stays. */
  setCard (card: CompanionCard): void {
    this.#card = card
    this.#state = { ...this.#state, selfName: card.name }
  }

  setBrain (brain: Brain): void {
    this.#brain = brain
    this.#brainFailing = false
  }

  setSettings (settings: Partial<CompanionSettings>): void {
    this.#settings = { ...this.#settings, ...settings }
    this.#state = { ...this.#state, settings: this.#settings }
  }

  /**
   * The companions present now: their cards (from the metadata protocol or
   * the room's directory), the peer serving each, and which are of aikyo's
   * make (they never vote one by one; their leader decides for everyone).
   */
  setPresent (present: readonly PresentCompanion[]): void {
    const others = present.filter(p => p.card.id !== this.#card.id)
    this.#cards = new Map(others.map(p => [p.card.id, p.card]))
    this.#peers = new Map(others.flatMap(p => p.peer === undefined ? [] : [[p.peer, p.card.id] as const]))
    for (const p of present) this.#names.set(p.card.id, p.card.name)
    const aikyo = Object.fromEntries(others.filter(p => p.aikyo === true).map(p => [p.card.id, p.card.name]))
    this.#dispatch({ type: 'presence', present: [this.#card.id, ...this.#cards.keys()], aikyo })
  }

  /** Names people go by (from the page or the firehose), for addressing them. */
  setName (id: string, name: string): void { this.#names.set(id, name) }

  /** Lines said in the room before this companion came, oldest first: context for its brain. */
  remember (messages: Message[]): void {
    if (this.#stopped) return
    for (const m of messages) {
      const name = m.params.metadata?.name
      if (typeof name === 'string' && !this.#names.has(m.params.from)) this.#names.set(m.params.from, name)
    }
    this.#dispatch({ type: 'remembered', messages })
  }

  /** Feed every accepted payload (our own included), with the peer that signed it when known. */
  receive (delivery: TopicPayload & { author?: string }): void {
    if (this.#stopped) return
    switch (delivery.topic) {
      case 'messages': {
        const message = delivery.payload
        const name = message.params.metadata?.name
        if (typeof name === 'string' && !this.#names.has(message.params.from)) this.#names.set(message.params.from, name)
        this.#dispatch({ type: 'message', message })
        break
      }
      case 'states': {
        // Who published it (the companion whose peer signed it): an aikyo leader's decision is told by its author.
        const author = delivery.author === undefined ? undefined : this.#peers.get(delivery.author)
        this.#dispatch(author === undefined ? { type: 'states', states: delivery.payload } : { type: 'states', states: delivery.payload, author })
        break
      }
      case 'queries':
        if (!isQuery(delivery.payload)) this.#queries.answer(delivery.payload)
        break
      case 'query-results':
        this.#queries.answer(delivery.payload)
        break
    }
  }

  /**
   * Ask the clients (the page, firehose programs) for something. Resolves
   * with their result, or with an error when nobody answers in time.
   */
  async query (type: string, body: Record<string, unknown>, timeoutMs = this.#settings.queryTimeoutMs): Promise<QueryOutcome> {
    const query: Query = { jsonrpc: '2.0', method: 'query.send', id: randomId(), params: { from: this.#card.id, type, body } }
    const outcome = await this.#queries.ask(query, timeoutMs, async (q) => { await this.#publish('queries', q) })
    this.#emit({ type: 'query-result', query, outcome })
    return outcome
  }

  stop (): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#judging?.abort()
    this.#writing?.abort.abort()
    this.#queries.cancelAll('the companion stopped')
  }

  #emit (event: CompanionEvent): void {
    for (const listener of this.#listeners) {
      try { listener(event) } catch { /* a listener's failure is its own */ }
    }
  }

  #context (): BrainContext {
    return {
      card: this.#card,
      companions: [...this.#cards.values()],
      history: this.#state.history,
      nameOf: (id) => this.#names.get(id) ?? this.#cards.get(id)?.name ?? nameFromId(id)
    }
  }

  #dispatch (event: TurnEvent): void {
    if (this.#stopped) return
    const { state, effects } = step(this.#state, event, this.#now())
    this.#state = state
    for (const effect of effects) this.#run(effect)
    this.#schedule()
    this.#updateStatus()
  }

  #schedule (): void {
    clearTimeout(this.#timer)
    const deadline = nextDeadline(this.#state)
    if (deadline === undefined) return
    this.#timer = setTimeout(() => { this.#dispatch({ type: 'tick' }) }, Math.max(0, deadline - this.#now()))
  }

  /** The page's view of the conversation, as of now. */
  get conversationView (): ConversationView {
    const s = this.#state
    const open = s.turn?.message.id
    const wants = open === undefined ? null : [...s.ballots].reverse().find(b => b.messageId === open && b.vote.from === s.self)?.vote ?? null
    return { holder: s.awaiting?.speaker ?? (s.writing !== null ? s.self : null), closing: s.conversation.closing, resting: s.conversation.resting, wants }
  }

  #updateStatus (): void {
    const view = this.conversationView
    if (JSON.stringify(view) !== JSON.stringify(this.#lastView)) {
      this.#lastView = view
      this.#emit({ type: 'conversation', view })
    }
    const s = this.#state
    const status: CompanionStatus = s.writing !== null
      ? 'writing'
      : s.judging !== null ? 'judging' : s.conversation.resting ? 'resting' : 'listening'
    if (status === this.#status) return
    this.#status = status
    this.#emit({ type: 'status', status })
  }

  #brainAnswered (): void {
    if (!this.#brainFailing) return
    this.#brainFailing = false
    this.#emit({ type: 'brain-ok' })
  }

  #fail (what: string, err: unknown): void {
    if ((err as Error)?.name === 'AbortError') return
    this.#brainFailing = true
    this.#emit({ type: 'brain-error', message: `${what}: ${(err as Error)?.message ?? String(err)}` })
  }

  #run (effect: TurnEffect): void {
    switch (effect.type) {
      case 'judge': {
        this.#judging?.abort()
        const abort = new AbortController()
        this.#judging = abort
        const { message, selected, conversation } = effect
        this.#brain.judge(this.#context(), { message, selected, conversation }, abort.signal).then(
          (judgement) => {
            this.#brainAnswered()
            if (!abort.signal.aborted) this.#dispatch({ type: 'judged', messageId: message.id, judgement })
          },
          (err) => {
            if (abort.signal.aborted) return
            this.#fail('could not judge the turn', err)
            this.#dispatch({ type: 'judged', messageId: message.id, judgement: null })
          })
        break
      }
      case 'publish-vote':
        this.#emit({ type: 'vote', messageId: effect.state.params.messageId ?? '', vote: effect.state.params })
        this.#send('states', effect.state)
        break
      case 'publish-decision': {
        const wait = (effect.notBefore ?? 0) - this.#now()
        if (wait <= 0) this.#send('states', effect.states)
        else setTimeout(() => { if (!this.#stopped) this.#send('states', effect.states) }, wait)
        break
      }
      case 'write': {
        this.#writing?.abort.abort()
        const abort = new AbortController()
        const id = effect.id
        this.#writing = { id, abort }
        const startedAt = this.#now()
        const request = { replyTo: effect.replyTo, vote: effect.vote, greet: effect.greet, conversation: effect.conversation }
        const after = effect.after
        this.#brain.write(this.#context(), request, abort.signal).then(
          async (line) => {
            this.#brainAnswered()
            // Keep a human pace: never answer faster than paceMs.
            const wait = this.#settings.paceMs - (this.#now() - startedAt)
            if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
            if (abort.signal.aborted) return
            this.#written.set(id, { line, after })
            this.#dispatch({ type: 'written', id, ok: true })
          },
          (err) => {
            if (abort.signal.aborted) return
            this.#fail('could not write a line', err)
            this.#dispatch({ type: 'written', id, ok: false })
          })
        break
      }
      case 'publish-line': {
        const ready = this.#written.get(effect.id)
        this.#written.delete(effect.id)
        if (this.#writing?.id === effect.id) this.#writing = undefined
        if (ready !== undefined) this.#say(ready.line, ready.after)
        break
      }
      case 'discard-line':
        this.#written.delete(effect.id)
        if (this.#writing?.id === effect.id) {
          this.#writing.abort.abort()
          this.#writing = undefined
        }
        this.#emit({ type: 'line-discarded', reason: effect.reason })
        break
      case 'decided':
        this.#emit({ type: 'decided', messageId: effect.messageId, votes: effect.votes, speaker: effect.speaker, by: effect.by })
        break
      case 'rest':
        this.#emit({ type: 'rest', reason: effect.reason })
        break
    }
  }

  #send<T extends Topic> (topic: T, payload: PublishedPayloads[T]): void {
    this.#publish(topic, payload).catch((err: Error) => { this.#emit({ type: 'brain-error', message: `could not publish on ${topic}: ${err.message}` }) })
  }

  /** Publishes a written line: its actions, the line, and a `speak` query to our clients. */
  #say (line: WrittenLine, after: string | null): void {
    const from = this.#card.id
    for (const action of line.actions) {
      const payload: Action = { jsonrpc: '2.0', method: 'action.send', params: { from, name: action.name, params: action.params } }
      this.#send('actions', payload)
    }
    const metadata: Record<string, unknown> = { emotion: line.emotion }
    if (after !== null) metadata.replyTo = after
    const message: Message = { jsonrpc: '2.0', method: 'message.send', params: { id: randomId(), from, to: line.to, message: line.text, metadata } }
    // aikyo companions it addresses that are still busy with their model would drop it: wait till they are free.
    const wait = (aikyoFreeAt(this.#state, message) ?? 0) - this.#now()
    const send = (): void => {
      if (this.#stopped) return
      this.#send('messages', message)
      if (this.#settings.speakQueries) void this.query('speak', { message: line.text, emotion: line.emotion })
    }
    if (wait <= 0) send()
    else setTimeout(send, wait)
  }
}
