/**
 * The benchmarks' settings from the environment (rounds, steps, sizes): whole
 * numbers from 1 up. A value that is not one stops the bench with its name,
 * rather than running no round and printing NaN.
 */
function whole (name: string, text: string): number {
  const value = Number(text.trim())
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a whole number from 1 up, got ${JSON.stringify(text)}`)
  return value
}

/** `name` as a whole number from 1 up, or `fallback` when it is not set. */
export function wholeFromEnv (name: string, fallback: number): number {
  const text = process.env[name]
  return text === undefined ? fallback : whole(name, text)
}

/** `name` as a comma-separated list of whole numbers from 1 up, or `fallback` when it is not set. */
export function wholesFromEnv (name: string, fallback: number[]): number[] {
  const text = process.env[name]
  return text === undefined ? fallback : text.split(',').map(part => whole(name, part))
}
