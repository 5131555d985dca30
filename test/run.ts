/**
 * `npm test`: builds the page, then runs every test file with node's test
 * runner inside a network namespace of its own that has only loopback, so
 * WebRTC candidates and any multicast stay on this machine. Where no
 * namespace can be made, the network tests say so and skip; the unit tests run.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..')
const IN_NETNS = 'KOTOBA_TEST_NETNS'

function testFiles (): string[] {
  const filter = process.argv.slice(2)
  const files = ['unit', 'e2e'].flatMap(dir =>
    readdirSync(join(root, 'test', dir)).filter(f => f.endsWith('.test.ts')).map(f => join('test', dir, f)))
  return filter.length === 0 ? files : files.filter(f => filter.some(part => f.includes(part)))
}

function runTests (env: NodeJS.ProcessEnv): number {
  const result = spawnSync(process.execPath, [
    '--test',
    '--test-concurrency=1',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=./test/summary-reporter.ts', '--test-reporter-destination=stdout',
    ...testFiles()
  ], { cwd: root, stdio: 'inherit', env })
  return result.status ?? 1
}

if (process.env[IN_NETNS] === '1') {
  process.exit(runTests(process.env))
}

const build = spawnSync(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' })
if (build.status !== 0) {
  console.error('test: the page did not build')
  process.exit(1)
}

// Re-run this script inside a fresh network namespace with loopback up.
// As root `unshare --net` suffices; otherwise an unprivileged user namespace.
const inner = `ip link set lo up && exec "${process.execPath}" "${join(root, 'test/run.ts')}" "$@"`
const asRoot = process.getuid?.() === 0
const unshareArgs = asRoot ? ['--net'] : ['--net', '--map-root-user']
const probe = spawnSync('unshare', [...unshareArgs, 'sh', '-c', 'ip link set lo up'], { encoding: 'utf8' })
if (probe.status === 0) {
  const result = spawnSync('unshare', [...unshareArgs, 'sh', '-c', inner, 'run-tests', ...process.argv.slice(2)], {
    cwd: root, stdio: 'inherit', env: { ...process.env, [IN_NETNS]: '1' }
  })
  process.exit(result.status ?? 1)
}
console.error(`test: cannot create a network namespace (${(probe.stderr || probe.error?.message || 'unshare failed').trim()}).`)
console.error('test: browser, relay and mDNS tests will SKIP; only unit tests run. Run as root or allow unprivileged user namespaces.')
process.exit(runTests({ ...process.env, [IN_NETNS]: '0' }))
