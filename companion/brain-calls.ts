/**
 * The companion's calls to its brain, off the event path: at most one
 * judgement and one line at a time (a new one aborts the one before), lines
 * kept to a human pace (not sooner than `paceMs` after the line answered), written lines held until the reducer says publish
 * or discard, and a brain that fails reported once, and again when it
 * answers after that.
 */
import type { Brain, BrainContext, JudgeRequest, WriteRequest, WrittenLine } from './brain.ts'
import type { Judgement } from './turn-state.ts'

/** A written line and the line it follows (its `replyTo`), if any. */
export interface HeldLine { line: WrittenLine, after: string | null }

export interface BrainCallsOptions {
  brain: Brain
  now: () => number
  /** The least time between the line answered and our answer (ms), read at each call. */
  paceMs: () => number
  /** The brain failed (what it was asked, and why), or answered again after failing. */
  onHealth: (health: { ok: true } | { ok: false, message: string }) => void
}

/** Lines whose arrival is remembered, for the pace of answers to them. */
const ARRIVALS_KEPT = 64

export class BrainCalls {
  #brain: Brain
  readonly #options: BrainCallsOptions
  #judging: AbortController | undefined
  #writing: { id: number, abort: AbortController } | undefined
  /** Lines written and waiting for the reducer's go-ahead, by write id, with the line they follow. */
  #written = new Map<number, HeldLine>()
  #failing = false
  /** When recent lines came, by id. */
  readonly #arrivals = new Map<string, number>()

  constructor (options: BrainCallsOptions) {
    this.#brain = options.brain
    this.#options = options
  }

  setBrain (brain: Brain): void {
    this.#brain = brain
    this.#failing = false
  }

  /** Asks for a judgement (aborting any before); `done` gets it, or null if the brain failed. Not called once aborted. */
  judge (context: BrainContext, request: JudgeRequest, done: (judgement: Judgement | null) => void): void {
    this.#judging?.abort()
    const abort = new AbortController()
    this.#judging = abort
    this.#brain.judge(context, request, abort.signal).then(
      (judgement) => {
        this.#answered()
        if (!abort.signal.aborted) done(judgement)
      },
      (err) => {
        if (abort.signal.aborted) return
        this.#fail('could not judge the turn', err)
        done(null)
      })
  }

  /** Line `id` came now: an answer to it keeps its pace from now. */
  heard (id: string): void {
    this.#arrivals.set(id, this.#options.now())
    if (this.#arrivals.size > ARRIVALS_KEPT) this.#arrivals.delete(this.#arrivals.keys().next().value!)
  }

  /**
   * Asks for line `id`, to be published after line `after` (aborting any
   * line before), not sooner than `paceMs` after the line it answers came;
   * `done(ok)` once it is held (`take`) or failed.
   */
  write (id: number, context: BrainContext, request: WriteRequest, after: string | null, done: (ok: boolean) => void): void {
    const since = request.replyTo === null ? this.#options.now() : this.#arrivals.get(request.replyTo.id) ?? this.#options.now()
    this.#writing?.abort.abort()
    const abort = new AbortController()
    this.#writing = { id, abort }
    this.#brain.write(context, request, abort.signal).then(
      async (line) => {
        this.#answered()
        // Keep a human pace: never answer faster than paceMs.
        const wait = this.#options.paceMs() - (this.#options.now() - since)
        if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
        if (abort.signal.aborted) return
        this.#written.set(id, { line, after })
        done(true)
      },
      (err) => {
        if (abort.signal.aborted) return
        this.#fail('could not write a line', err)
        done(false)
      })
  }

  /** The written line `id`, handed over once to be published. */
  take (id: number): HeldLine | undefined {
    const line = this.#written.get(id)
    this.#written.delete(id)
    if (this.#writing?.id === id) this.#writing = undefined
    return line
  }

  /** Line `id` will not be said: stop writing it, or forget it if written. */
  discard (id: number): void {
    this.#written.delete(id)
    if (this.#writing?.id === id) {
      this.#writing.abort.abort()
      this.#writing = undefined
    }
  }

  stop (): void {
    this.#judging?.abort()
    this.#writing?.abort.abort()
    this.#written.clear()
  }

  #answered (): void {
    if (!this.#failing) return
    this.#failing = false
    this.#options.onHealth({ ok: true })
  }

  #fail (what: string, err: unknown): void {
    if ((err as Error)?.name === 'AbortError') return
    this.#failing = true
    this.#options.onHealth({ ok: false, message: `${what}: ${(err as Error)?.message ?? String(err)}` })
  }
}
