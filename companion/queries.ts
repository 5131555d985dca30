/**
 * A companion's queries to its clients (the page, firehose programs): each
 * waits for the result with the same id, or gives up after its timeout.
 * aikyo's clients answer speak queries this way ("say this aloud").
 */
import type { Query, QueryResult } from '../protocol/payloads.ts'

export type QueryOutcome =
  | { ok: true, result: QueryResult }
  | { ok: false, error: string }

interface Pending {
  resolve: (outcome: QueryOutcome) => void
  timer: ReturnType<typeof setTimeout>
}

export class PendingQueries {
  #pending = new Map<string, Pending>()

  /**
   * Sends `query` with `send` and resolves with the result that answers it,
   * or with an error when sending fails or nobody answers within `timeoutMs`.
   */
  async ask (query: Query, timeoutMs: number, send: (query: Query) => Promise<void>): Promise<QueryOutcome> {
    const outcome = new Promise<QueryOutcome>((resolve) => {
      const timer = setTimeout(() => {
        this.#settle(query.id, { ok: false, error: `no client answered the ${query.params.type} query within ${timeoutMs} ms` })
      }, timeoutMs)
      this.#pending.set(query.id, { resolve, timer })
    })
    try {
      await send(query)
    } catch (err) {
      this.#settle(query.id, { ok: false, error: `could not send the query: ${(err as Error).message}` })
    }
    return await outcome
  }

  /** A result arrived: it settles its query, if that is one of ours still waiting. */
  answer (result: QueryResult): void {
    this.#settle(result.id, result.error !== undefined && result.result === undefined
      ? { ok: false, error: result.error }
      : { ok: true, result })
  }

  /** Settles every query still waiting with `error`. */
  cancelAll (error: string): void {
    for (const id of [...this.#pending.keys()]) this.#settle(id, { ok: false, error })
  }

  #settle (id: string, outcome: QueryOutcome): void {
    const pending = this.#pending.get(id)
    if (pending === undefined) return // late, unknown, or someone else's
    clearTimeout(pending.timer)
    this.#pending.delete(id)
    pending.resolve(outcome)
  }
}
