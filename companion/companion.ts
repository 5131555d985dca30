/**
 * A companion at work: the thin layer between the network, the turn-taking
 * reducer and the brain. Payloads in -> reducer events; reducer effects ->
 * brain calls and payloads out. It runs the same in a tab and in Node: it
 * only needs a `publish` function and to be fed what arrives.
 *
 * It never writes two lines at once (a new write aborts the old one) and
 * never blocks: the brain is awaited off the event path (brain-calls.ts).
 * What it tells a page is in companion-events.ts.
 */
import type { TopicPayload } from '../protocol/codec.ts'
import { isCompanionId, nameFromId, randomId } from '../protocol/ids.ts'
import { isQuery } from '../protocol/payloads.ts'
import type { CompanionCard, Message, PublishedPayloads, Query } from '../protocol/payloads.ts'
import type { Topic } from '../protocol/topics.ts'
import type { Brain, BrainContext } from './brain.ts'
import { PendingQueries } from './queries.ts'
import type { QueryOutcome } from './queries.ts'
import { DEFAULT_TURN_SETTINGS, initialTurnState } from './turn-state.ts'
import { Outbox } from './outbox.ts'
import { nextDeadline, step } from './turn-taking.ts'
import type { TurnEffect, TurnEvent, TurnSettings, TurnState } from './turn-state.ts'
import { BrainCalls } from './brain-calls.ts'
import { conversationViewOf, statusOf } from './companion-events.ts'
import type { CompanionEvent, CompanionStatus, ConversationView } from './companion-events.ts'
import { Listeners } from '../protocol/listeners.ts'

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
  readonly #brain: BrainCalls
  readonly #publish: CompanionOptions['publish']
  readonly #now: () => number
  #settings: CompanionSettings
  #state: TurnState
  #cards = new Map<string, CompanionCard>()
  /** Companion id by the peer id that serves its card. */
  #peers = new Map<string, string>()
  #names = new Map<string, string>()
  readonly #listeners = new Listeners<CompanionEvent>()
  #timer: ReturnType<typeof setTimeout> | undefined
  #queries = new PendingQueries()
  #status: CompanionStatus = 'resting'
  #stopped = false
  #lastView: ConversationView | undefined
  readonly #outbox: Outbox

  constructor (options: CompanionOptions) {
    this.#card = options.card
    this.#publish = options.publish
    this.#now = options.now ?? Date.now
    this.#settings = { ...DEFAULT_COMPANION_SETTINGS, ...options.settings }
    this.#brain = new BrainCalls({
      brain: options.brain,
      now: this.#now,
      paceMs: () => this.#settings.paceMs,
      onHealth: (health) => { this.#emit(health.ok ? { type: 'brain-ok' } : { type: 'brain-error', message: health.message }) }
    })
    this.#state = initialTurnState(this.#card.id, this.#card.name, this.#settings)
    this.#outbox = new Outbox({
      from: () => this.#card.id,
      send: (topic, payload) => { if (!this.#stopped) this.#send(topic, payload) },
      speak: (line) => { if (this.#settings.speakQueries) void this.query('speak', { message: line.text, emotion: line.emotion }) },
      emit: (event) => { this.#emit(event) },
      now: this.#now
    })
  }

  get card (): CompanionCard { return this.#card }
  get status (): CompanionStatus { return this.#status }
  get turnState (): TurnState { return this.#state }

  /** Listen to what the companion does (for the page). Returns the unsubscribe. */
  onEvent (listener: (event: CompanionEvent) => void): () => void {
    return this.#listeners.add(listener)
  }

  /** A person edited the card; the id stays. */
  setCard (card: CompanionCard): void {
    this.#card = card
    this.#state = { ...this.#state, selfName: card.name }
  }

  setBrain (brain: Brain): void {
    this.#brain.setBrain(brain)
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
    for (const m of messages) this.#learnName(m)
    this.#dispatch({ type: 'remembered', messages })
  }

  /** Feed every accepted payload (our own included), with the peer that signed it when known. */
  receive (delivery: TopicPayload & { author?: string }): void {
    if (this.#stopped) return
    switch (delivery.topic) {
      case 'messages': {
        this.#learnName(delivery.payload)
        this.#brain.heard(delivery.payload.params.id)
        this.#dispatch({ type: 'message', message: delivery.payload })
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
    this.#outbox.stop()
    this.#brain.stop()
    this.#queries.cancelAll('the companion stopped')
  }

  /** The name a line's writer goes by (`metadata.name`), unless we know it already. */
  #learnName (message: Message): void {
    const name = message.params.metadata?.name
    if (name !== undefined && !this.#names.has(message.params.from)) this.#names.set(message.params.from, name)
  }

  #emit (event: CompanionEvent): void {
    this.#listeners.tell(event)
  }

  #context (): BrainContext {
    return {
      card: this.#card,
      companions: [...this.#cards.values()],
      history: this.#state.history,
      // A person who has not said a name has none here (never a piece of an id).
      nameOf: (id) => this.#names.get(id) ?? this.#cards.get(id)?.name ?? (isCompanionId(id) ? nameFromId(id) : '')
    }
  }

  #dispatch (event: TurnEvent): void {
    if (this.#stopped) return
    const { state, effects } = step(this.#state, event, this.#now())
    this.#state = state
    for (const effect of effects) this.#run(effect)
    this.#outbox.update(this.#state)
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
  get conversationView (): ConversationView { return conversationViewOf(this.#state) }

  #updateStatus (): void {
    const view = this.conversationView
    if (JSON.stringify(view) !== JSON.stringify(this.#lastView)) {
      this.#lastView = view
      this.#emit({ type: 'conversation', view })
    }
    const status = statusOf(this.#state)
    if (status === this.#status) return
    this.#status = status
    this.#emit({ type: 'status', status })
  }

  #run (effect: TurnEffect): void {
    switch (effect.type) {
      case 'judge': {
        const { message, selected, conversation } = effect
        this.#brain.judge(this.#context(), { message, selected, conversation }, (judgement) => {
          this.#dispatch({ type: 'judged', messageId: message.id, judgement })
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
        const request = { replyTo: effect.replyTo, vote: effect.vote, greet: effect.greet, conversation: effect.conversation }
        this.#brain.write(effect.id, this.#context(), request, effect.after, (ok) => { this.#dispatch({ type: 'written', id: effect.id, ok }) })
        break
      }
      case 'publish-line': {
        const held = this.#brain.take(effect.id)
        if (held !== undefined) this.#outbox.say(held.line, held.after, this.#state)
        break
      }
      case 'discard-line':
        this.#brain.discard(effect.id)
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
}
