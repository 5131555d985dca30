import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { LlmGuard } from '../../relay/llm-guard.ts'

describe('the model proxy\'s guard (a rate per client, a budget an hour)', () => {
  const clock = (): { now: () => number, pass: (ms: number) => void } => {
    let t = 1_000_000
    return { now: () => t, pass: (ms) => { t += ms } }
  }

  it('lets a client make a burst at once, then as many as its rate refills, and says when to come back', () => {
    const c = clock()
    const guard = new LlmGuard({ maxTokens: 512, ratePerMinute: 60, burst: 8, budgetPerHour: 0 }, c.now)
    for (let i = 0; i < 8; i++) assert.equal(guard.admit('10.0.0.5', 100).ok, true)
    const ninth = guard.admit('10.0.0.5', 100)
    assert.deepEqual(ninth.ok ? undefined : [ninth.reason, ninth.retryAfterS], ['rate', 1])
    // Another client has a bucket of its own.
    assert.equal(guard.admit('10.0.0.6', 100).ok, true)
    c.pass(1000)
    assert.equal(guard.admit('10.0.0.5', 100).ok, true)
    assert.equal(guard.admit('10.0.0.5', 100).ok, false)
    c.pass(60_000)
    for (let i = 0; i < 8; i++) assert.equal(guard.admit('10.0.0.5', 100).ok, true, 'a full burst again, not more')
    assert.equal(guard.admit('10.0.0.5', 100).ok, false)
    assert.deepEqual(guard.refused, { rate: 3, budget: 0 })
  })

  it('keeps the relay within its tokens an hour, counting what answers say they spent', () => {
    const c = clock()
    const guard = new LlmGuard({ maxTokens: 512, ratePerMinute: 1000, burst: 100, budgetPerHour: 1000 }, c.now)
    const first = guard.admit('a', 600)
    assert.equal(first.ok, true)
    // Reserved 600: another 600 would pass the budget.
    const second = guard.admit('b', 600)
    assert.equal(second.ok, false)
    // The answer said it spent 100: the reservation gives way to it.
    if (first.ok) guard.settle(first.admitted, 100)
    assert.equal(guard.spentThisHour(), 100)
    c.pass(10 * 60_000)
    assert.equal(guard.admit('b', 600).ok, true)
    c.pass(20 * 60_000)
    const fourth = guard.admit('c', 600)
    assert.ok(!fourth.ok && fourth.reason === 'budget')
    // 700 spent: room for 600 once the 600 of ten minutes in are an hour old, 40 minutes from now.
    assert.ok(!fourth.ok && fourth.retryAfterS === 40 * 60, `retry after ${fourth.ok ? '' : fourth.retryAfterS}`)
    c.pass(30 * 60_000 + 1)
    assert.equal(guard.spentThisHour(), 600, 'the first hour\'s 100 are forgotten')
    assert.equal(guard.admit('c', 300).ok, true)
    assert.deepEqual(guard.refused, { rate: 0, budget: 2 })
  })
})
