/**
 * Saying a written line: its actions, the line, and a `speak` query to our
 * clients. aikyo companions drop a line that reaches them while their model
 * runs, so a line to an aikyo companion still busy waits: it goes as soon
 * as that companion is seen to be free (a decision it publishes says so) or
 * at the latest when its model must be done (aikyo-turns.ts `aikyoFreeAt`,
 * an upper bound), and it is dropped if a newer line took the conversation
 * on meanwhile, as a line still being written is.
 */
import { randomId } from '../protocol/ids.ts'
import type { Message, MessageMetadata, PublishedPayloads } from '../protocol/payloads.ts'
import type { Topic } from '../protocol/topics.ts'
import { aikyoFreeAt } from './aikyo-turns.ts'
import type { WrittenLine } from './brain.ts'
import type { CompanionEvent } from './companion-events.ts'
import type { TurnState } from './turn-state.ts'

export interface OutboxOptions {
  /** The companion id lines are said as. */
  from: () => string
  send: <T extends Topic>(topic: T, payload: PublishedPayloads[T]) => void
  /** Asks our clients to say the line aloud, when they should. */
  speak: (line: WrittenLine) => void
  emit: (event: CompanionEvent) => void
  now: () => number
  /** Runs `action` in `ms`; returns the cancel (default: a timer; a simulation passes its own clock). */
  later?: (ms: number, action: () => void) => () => void
  /** A new line's id (default: a random one). */
  newId?: () => string
}

const timer = (ms: number, action: () => void): () => void => {
  const id = setTimeout(action, ms)
  return () => { clearTimeout(id) }
}

interface Held {
  line: WrittenLine
  /** The line it answers (null: it starts the conversation). */
  after: string | null
  /** Cancels the wait for the aikyo companions it is for. */
  cancel: (() => void) | undefined
}

export class Outbox {
  readonly #options: OutboxOptions
  #held: Held | undefined
  #state: TurnState | undefined

  constructor (options: OutboxOptions) {
    this.#options = options
  }

  /** Says `line`, answering `after`: now, or once the aikyo companions it is for are free. */
  say (line: WrittenLine, after: string | null, state: TurnState): void {
    this.#drop()
    this.#held = { line, after, cancel: undefined }
    this.update(state)
  }

  /** The conversation changed: the held line goes now, waits on, or is dropped. */
  update (state: TurnState): void {
    this.#state = state
    const held = this.#held
    if (held === undefined) return
    if ((state.head?.id ?? null) !== held.after) {
      this.#drop()
      this.#options.emit({ type: 'line-discarded', reason: 'a newer line came while it waited for a busy aikyo companion' })
      return
    }
    const wait = (aikyoFreeAt(state.aikyo, held.line.to, state.present) ?? 0) - this.#options.now()
    held.cancel?.()
    if (wait > 0) {
      held.cancel = (this.#options.later ?? timer)(wait, () => { if (this.#state !== undefined) this.update(this.#state) })
      return
    }
    this.#held = undefined
    this.#publish(held.line, held.after)
  }

  stop (): void { this.#drop() }

  #drop (): void {
    this.#held?.cancel?.()
    this.#held = undefined
  }

  #publish (line: WrittenLine, after: string | null): void {
    const { send } = this.#options
    const from = this.#options.from()
    const metadata: MessageMetadata = after === null ? { emotion: line.emotion } : { emotion: line.emotion, replyTo: after }
    const message: Message = { jsonrpc: '2.0', method: 'message.send', params: { id: (this.#options.newId ?? randomId)(), from, to: line.to, message: line.text, metadata } }
    for (const action of line.actions) send('actions', { jsonrpc: '2.0', method: 'action.send', params: { from, name: action.name, params: action.params } })
    send('messages', message)
    this.#options.speak(line)
  }
}
