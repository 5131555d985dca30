/**
 * Network tests run only inside the private namespace `npm test` creates
 * (see test/run.ts), never in the host's, where Chromium would offer the
 * machine's real addresses.
 */
import { existsSync } from 'node:fs'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** A reason to skip network tests here, or false when they may run. */
export function networkSkipReason (options: { browser?: boolean } = {}): string | false {
  if (process.env.KOTOBA_TEST_NETNS !== '1') return 'not inside a private network namespace: run `npm test`'
  if (options.browser === true && !existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM}: apt-get install chromium`
  return false
}
