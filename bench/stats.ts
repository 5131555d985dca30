/** Figures for the benchmarks. */

/** Wall-clock ms with sub-ms precision; the same clock in every process of the machine. */
export const now = (): number => performance.timeOrigin + performance.now()

export function stats (values: number[]): { median: number, p99: number, n: number } {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
  return { median: at(0.5), p99: at(0.99), n: sorted.length }
}

export const fmt = (ms: number): string => `${ms.toFixed(2)} ms`
