/** The benchmarks' figures (a ratio of medians and how sure it is: bench/stats.ts) and settings (bench/env.ts). */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { wholeFromEnv, wholesFromEnv } from '../../bench/env.ts'
import { medianRatioInterval, stats } from '../../bench/stats.ts'

describe('a ratio of medians, with its 95% interval over rounds', () => {
  const rounds = (values: number[]): number[][] => values.map(v => [v, v + 5])

  it('is exact when every round gives the same ratio', () => {
    const base = rounds([200, 210, 250, 230, 190, 240, 220, 205, 215, 260])
    assert.deepEqual(medianRatioInterval(base, base), { low: 1, high: 1 })
    const twice = base.map(r => r.map(v => v * 2))
    assert.deepEqual(medianRatioInterval(twice, base), { low: 2, high: 2 })
  })

  it('holds the point figure, widens with the spread, and gives the same interval for the same figures', () => {
    const base = rounds([200, 210, 250, 230, 190, 240, 220, 205, 215, 260, 225, 235])
    const tight = base.map((r, i) => r.map(v => v * (i % 2 === 0 ? 1.08 : 1.12)))
    const loose = base.map((r, i) => r.map(v => v * (i % 2 === 0 ? 0.9 : 1.3)))
    const point = (ours: number[][]): number => stats(ours.flat()).median / stats(base.flat()).median
    for (const ours of [tight, loose]) {
      const { low, high } = medianRatioInterval(ours, base)
      assert.ok(low <= point(ours) && point(ours) <= high, `${low} <= ${point(ours)} <= ${high}`)
      assert.deepEqual(medianRatioInterval(ours, base), { low, high })
    }
    const width = (ours: number[][]): number => { const { low, high } = medianRatioInterval(ours, base); return high - low }
    assert.ok(width(loose) > width(tight), `${width(loose)} > ${width(tight)}`)
  })

  it('needs one group of figures per round of each kind', () => {
    assert.throws(() => medianRatioInterval([[1]], [[1], [2]]), /one group of figures per round/)
    assert.throws(() => medianRatioInterval([], []), /one group of figures per round/)
  })
})

describe('the benchmarks\' settings from the environment (bench/env.ts)', () => {
  const withEnv = <T>(value: string | undefined, read: () => T): T => {
    const before = process.env.KOTOBA_TEST_SETTING
    if (value === undefined) delete process.env.KOTOBA_TEST_SETTING
    else process.env.KOTOBA_TEST_SETTING = value
    try { return read() } finally {
      if (before === undefined) delete process.env.KOTOBA_TEST_SETTING
      else process.env.KOTOBA_TEST_SETTING = before
    }
  }

  it('takes the fallback when unset, and whole numbers from 1 up', () => {
    assert.equal(withEnv(undefined, () => wholeFromEnv('KOTOBA_TEST_SETTING', 40)), 40)
    assert.equal(withEnv('12', () => wholeFromEnv('KOTOBA_TEST_SETTING', 40)), 12)
    assert.deepEqual(withEnv(undefined, () => wholesFromEnv('KOTOBA_TEST_SETTING', [10, 25])), [10, 25])
    assert.deepEqual(withEnv('8, 16,32', () => wholesFromEnv('KOTOBA_TEST_SETTING', [10])), [8, 16, 32])
  })

  it('refuses anything else with the setting\'s name, instead of running no round', () => {
    for (const bad of ['', 'ten', '0', '-3', '2.5', '1e3']) {
      assert.throws(() => withEnv(bad, () => wholeFromEnv('KOTOBA_TEST_SETTING', 40)), /KOTOBA_TEST_SETTING must be a whole number from 1 up/, bad)
    }
    assert.throws(() => withEnv('8,,16', () => wholesFromEnv('KOTOBA_TEST_SETTING', [10])), /KOTOBA_TEST_SETTING/)
  })
})
