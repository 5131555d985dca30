/**
 * How every long-lived piece (direct links, the topic bus, the relay's
 * rooms...) holds what it must let go of when it stops: its event
 * listeners, added with `{ signal: lifetime.signal }` so that they go with
 * it, and its timers, made with `later` and `every`. Each piece's `start…`
 * makes one and returns a handle whose `stop()` ends it: nothing of the
 * piece runs after that.
 */
export class Lifetime {
  readonly #controller = new AbortController()
  readonly #timeouts = new Set<ReturnType<typeof setTimeout>>()
  readonly #intervals = new Set<ReturnType<typeof setInterval>>()

  /** Aborted when the piece stops: for listeners, dials and requests. */
  get signal (): AbortSignal { return this.#controller.signal }

  get stopped (): boolean { return this.#controller.signal.aborted }

  /** Runs `fn` once after `ms`, unless the piece stopped first. Returns the cancel. */
  later (ms: number, fn: () => void): () => void {
    if (this.stopped) return () => {}
    const timeout = setTimeout(() => {
      this.#timeouts.delete(timeout)
      fn()
    }, ms)
    this.#timeouts.add(timeout)
    return () => {
      clearTimeout(timeout)
      this.#timeouts.delete(timeout)
    }
  }

  /** Runs `fn` every `ms` until the piece stops. */
  every (ms: number, fn: () => void): void {
    if (this.stopped) return
    this.#intervals.add(setInterval(fn, ms))
  }

  /** Removes the listeners and clears the timers. Safe to call again. */
  stop (): void {
    this.#controller.abort()
    for (const timeout of this.#timeouts) clearTimeout(timeout)
    for (const interval of this.#intervals) clearInterval(interval)
    this.#timeouts.clear()
    this.#intervals.clear()
  }
}
