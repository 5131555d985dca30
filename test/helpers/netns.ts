/**
 * Network tests and benchmarks run only inside a private network namespace
 * with nothing but loopback, never in the host's, where Chromium would offer
 * the machine's real addresses and mDNS would multicast on its network.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

const IN_NETNS = 'KOTOBA_TEST_NETNS'

/** True inside the namespace that `runInPrivateNetns` made. */
export function inPrivateNetns (): boolean {
  return process.env[IN_NETNS] === '1'
}

/** A reason to skip network tests here, or false when they may run. */
export function networkSkipReason (options: { browser?: boolean } = {}): string | false {
  if (!inPrivateNetns()) return 'not inside a private network namespace: run `npm test`'
  if (options.browser === true && !existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM}: apt-get install chromium`
  return false
}

/**
 * Runs `node script ...args` inside a new network namespace with loopback up
 * (as root `unshare --net`, otherwise an unprivileged user namespace too).
 * Returns the exit status, or a reason when no namespace can be made.
 */
export function runInPrivateNetns (script: string, args: string[]): { status: number } | { unavailable: string } {
  const unshareArgs = process.getuid?.() === 0 ? ['--net'] : ['--net', '--map-root-user']
  const probe = spawnSync('unshare', [...unshareArgs, 'sh', '-c', 'ip link set lo up'], { encoding: 'utf8' })
  if (probe.status !== 0) {
    return { unavailable: (probe.stderr || probe.error?.message || 'unshare failed').trim() }
  }
  const inner = `ip link set lo up && exec "${process.execPath}" "${script}" "$@"`
  const result = spawnSync('unshare', [...unshareArgs, 'sh', '-c', inner, script, ...args], {
    stdio: 'inherit', env: { ...process.env, [IN_NETNS]: '1' }
  })
  return { status: result.status ?? 1 }
}
