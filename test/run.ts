/**
 * `npm test`: builds the page, then runs every test file with node's test
 * runner inside a network namespace of its own that has only loopback, so
 * WebRTC candidates and any multicast stay on this machine. Where no
 * namespace can be made, the network tests say so and skip; the unit tests
 * run. Arguments filter test files by path (`npm test -- options`). The
 * soaks (test/soak/: minutes of a room conversing) run last.
 *
 * `npm run test:unit` (`--unit`): the unit tests alone, at once: no build,
 * no namespace, no browser, no network.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { inPrivateNetns, runInPrivateNetns } from './helpers/netns.ts'

const root = join(import.meta.dirname, '..')
const args = process.argv.slice(2)
const unitOnly = args.includes('--unit')
const filter = args.filter(a => a !== '--unit')

function runTests (dirs: string[]): number {
  const files = dirs.flatMap(dir =>
    readdirSync(join(root, 'test', dir)).filter(f => f.endsWith('.test.ts')).map(f => join('test', dir, f)))
  const selected = filter.length === 0 ? files : files.filter(f => filter.some(part => f.includes(part)))
  const result = spawnSync(process.execPath, [
    '--test',
    // Unit tests are independent and quick: run them side by side. Network
    // tests share ports, namespaces and two cores: one file at a time.
    `--test-concurrency=${unitOnly ? 'true' : '1'}`,
    // A hang fails its test, and its file, instead of holding the run until
    // CI gives up: no test file takes near 15 minutes (the longest, the slow
    // aikyo conversations and the soak, take about 5). (Not --test-force-exit:
    // it ends the run before the summary reporter prints its line.)
    `--test-timeout=${15 * 60_000}`,
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=./test/summary-reporter.ts', '--test-reporter-destination=stdout',
    ...selected
  ], { cwd: root, stdio: 'inherit' })
  return result.status ?? 1
}

if (unitOnly) process.exit(runTests(['unit']))
if (inPrivateNetns()) process.exit(runTests(['unit', 'e2e', 'soak']))

const build = spawnSync(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' })
if (build.status !== 0) {
  console.error('test: the page did not build')
  process.exit(1)
}

const inNetns = runInPrivateNetns(join(root, 'test/run.ts'), filter)
if ('status' in inNetns) process.exit(inNetns.status)
console.error(`test: cannot create a network namespace (${inNetns.unavailable}).`)
console.error('test: browser, relay and mDNS tests will SKIP; only unit tests run. Run as root or allow unprivileged user namespaces.')
process.exit(runTests(['unit', 'e2e', 'soak']))
