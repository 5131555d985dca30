import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { backoffDelay } from '../../protocol/backoff.ts'

describe('backoffDelay: one way to wait before trying again', () => {
  const cases: Array<[string, number, { first: number, max: number, jitter?: number }, number, number]> = [
    ['the first retry waits `first`', 1, { first: 250, max: 5000 }, 0.5, 250],
    ['each retry doubles it', 3, { first: 250, max: 5000 }, 0.5, 1000],
    ['never more than `max`', 20, { first: 250, max: 5000 }, 0.5, 5000],
    ['jitter 0.5 at its least: 75%', 2, { first: 1000, max: 30_000, jitter: 0.5 }, 0, 1500],
    ['jitter 0.5 at its most: 125%', 2, { first: 1000, max: 30_000, jitter: 0.5 }, 1, 2500],
    ['an attempt below 1 counts as the first', 0, { first: 500, max: 5000 }, 0.5, 500]
  ]
  for (const [name, attempt, backoff, random, expected] of cases) {
    it(name, () => { assert.equal(backoffDelay(attempt, backoff, () => random), expected) })
  }
})
