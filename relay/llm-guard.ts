/**
 * What keeps the relay's model proxy (`/api/llm`) for companions, not for
 * whoever reaches its port: each client address has a rate (requests a
 * minute, in bursts of a few), and the relay a budget of model tokens an
 * hour. A request reserves the tokens it may spend (its `max_tokens`); when
 * the answer says what it spent (`usage.total_tokens`), that counts instead.
 * Pure bookkeeping with a clock: the proxy asks and says why it refuses.
 */

export interface LlmLimits {
  /** The most tokens one request may ask for (a larger `max_tokens` is capped to this). */
  maxTokens: number
  /** Requests a minute each client address may make, on average. */
  ratePerMinute: number
  /** Requests a client address may make at once before its rate holds it back. */
  burst: number
  /** Model tokens the relay spends in any hour, all clients together; 0: no budget. */
  budgetPerHour: number
}

/**
 * A room of tabs asks a few requests a line (two judges, the one named, the
 * writer), a line every few seconds, and tabs on one machine share their
 * address: 120 a minute, in bursts of 12, leaves them room. The budget is
 * for a paid key (see `KEYED_BUDGET_PER_HOUR`).
 */
export const LLM_LIMIT_DEFAULTS: LlmLimits = { maxTokens: 512, ratePerMinute: 120, burst: 12, budgetPerHour: 0 }
/** The budget a relay with a key keeps unless told otherwise (`--llm-budget`). */
export const KEYED_BUDGET_PER_HOUR = 1_000_000

export type Refusal = { reason: 'rate' | 'budget', retryAfterS: number, message: string }

/** A request let through: settle it when it is done. */
export interface Admitted { readonly at: number, tokens: number }

/** Client addresses remembered at most (the least recently seen are forgotten first: they have a full bucket again anyway). */
const CLIENTS_KEPT = 4096
const HOUR_MS = 3_600_000

export class LlmGuard {
  readonly #limits: LlmLimits
  readonly #now: () => number
  /** Each client's bucket: requests it may make now, as of `at`. */
  readonly #buckets = new Map<string, { tokens: number, at: number }>()
  /** Tokens spent (or reserved) in the last hour, oldest first. */
  readonly #spent: Admitted[] = []
  readonly refused = { rate: 0, budget: 0 }

  constructor (limits: LlmLimits, now: () => number = Date.now) {
    this.#limits = limits
    this.#now = now
  }

  /** Tokens spent or reserved in the last hour. */
  spentThisHour (): number {
    this.#forgetOld()
    return this.#spent.reduce((sum, s) => sum + s.tokens, 0)
  }

  /** May `client` ask for `tokens` now? Admitted, or refused with why and when to try again. */
  admit (client: string, tokens: number): { ok: true, admitted: Admitted } | ({ ok: false } & Refusal) {
    const now = this.#now()
    const { ratePerMinute, burst, budgetPerHour } = this.#limits
    const perMs = ratePerMinute / 60_000
    const last = this.#buckets.get(client)
    const bucket = last === undefined ? { tokens: burst, at: now } : { tokens: Math.min(burst, last.tokens + (now - last.at) * perMs), at: now }
    if (bucket.tokens < 1) {
      this.#keep(client, bucket)
      this.refused.rate++
      const retryAfterS = Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000))
      return { ok: false, reason: 'rate', retryAfterS, message: `this client asked more than ${ratePerMinute} model requests a minute (bursts of ${burst}); try again in ${retryAfterS} s` }
    }
    if (budgetPerHour > 0) {
      const spent = this.spentThisHour()
      if (spent + tokens > budgetPerHour) {
        // When enough of the hour's spending is older than an hour.
        let freed = 0
        let until = now + HOUR_MS
        for (const s of this.#spent) {
          freed += s.tokens
          if (spent - freed + tokens <= budgetPerHour) { until = s.at + HOUR_MS; break }
        }
        this.refused.budget++
        const retryAfterS = Math.max(1, Math.ceil((until - now) / 1000))
        return { ok: false, reason: 'budget', retryAfterS, message: `the relay's model budget of ${budgetPerHour} tokens an hour is spent; try again in ${retryAfterS} s` }
      }
    }
    bucket.tokens -= 1
    this.#keep(client, bucket)
    const admitted: Admitted = { at: now, tokens }
    this.#spent.push(admitted)
    return { ok: true, admitted }
  }

  /** The request is done: it spent `tokens` (from the answer), or what it reserved when the answer did not say. */
  settle (admitted: Admitted, tokens?: number): void {
    if (tokens !== undefined && Number.isFinite(tokens) && tokens >= 0) admitted.tokens = tokens
  }

  #keep (client: string, bucket: { tokens: number, at: number }): void {
    this.#buckets.delete(client)
    this.#buckets.set(client, bucket)
    if (this.#buckets.size > CLIENTS_KEPT) this.#buckets.delete(this.#buckets.keys().next().value as string)
  }

  #forgetOld (): void {
    const since = this.#now() - HOUR_MS
    while (this.#spent.length > 0 && this.#spent[0].at <= since) this.#spent.shift()
  }
}
