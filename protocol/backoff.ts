/**
 * How long a peer waits before it tries again (a dial, a request, a relay
 * that does not answer): `first`, doubling with each attempt, never more
 * than `max`. With `jitter` the delay is spread around that (0.5: from 75%
 * to 125%), so that a roomful of peers that failed together do not all try
 * again at the same instant. Every retry of the project waits this way.
 */
export interface Backoff {
  /** The delay before the first retry (ms). */
  first: number
  /** The longest delay (ms). */
  max: number
  /** How widely the delay is spread, 0 (not at all) to 1. */
  jitter?: number
}

/** The delay before retry number `attempt` (1 for the first). */
export function backoffDelay (attempt: number, backoff: Backoff, random: () => number = Math.random): number {
  const delay = Math.min(backoff.max, backoff.first * 2 ** Math.max(0, attempt - 1))
  const jitter = backoff.jitter ?? 0
  return jitter === 0 ? delay : delay * (1 - jitter / 2 + random() * jitter)
}
