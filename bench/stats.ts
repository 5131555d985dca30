/** Figures for the benchmarks. */
import { seededRandom } from '../companion/random.ts'

/** Wall-clock ms with sub-ms precision; the same clock in every process of the machine. */
export const now = (): number => performance.timeOrigin + performance.now()

export function stats (values: number[]): { median: number, p99: number, n: number } {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
  return { median: at(0.5), p99: at(0.99), n: sorted.length }
}

export const fmt = (ms: number): string => `${ms.toFixed(2)} ms`

/**
 * How sure a ratio of medians is: a 95% interval of median(ours) / median(base)
 * by the bootstrap over rounds. Each round's figures of both kinds are
 * resampled together (round i of ours with round i of base: the pages of a
 * round ran interleaved, on the machine as it was then), so a machine that
 * slowed down between rounds widens the interval less than it would move
 * the point figure. Seeded: the same figures give the same interval.
 */
export function medianRatioInterval (ours: number[][], base: number[][], options: { resamples?: number, seed?: number } = {}): { low: number, high: number } {
  if (ours.length !== base.length || ours.length === 0) throw new RangeError(`one group of figures per round of each kind, got ${ours.length} and ${base.length}`)
  const { resamples = 2000, seed = 1 } = options
  const random = seededRandom(seed)
  const ratios: number[] = []
  for (let i = 0; i < resamples; i++) {
    const rounds = Array.from(ours, () => Math.floor(random() * ours.length))
    ratios.push(stats(rounds.flatMap(r => ours[r])).median / stats(rounds.flatMap(r => base[r])).median)
  }
  ratios.sort((a, b) => a - b)
  return { low: ratios[Math.floor(0.025 * resamples)], high: ratios[Math.min(resamples - 1, Math.floor(0.975 * resamples))] }
}
