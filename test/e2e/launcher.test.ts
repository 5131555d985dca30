/**
 * How `node relay` and `npm run companion` start, as a person types them: on
 * the Node most machines have (too old for the project, which then runs on
 * its own Node), on a data dir another process holds, and how light an idle
 * relay is.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnHeadless } from '../helpers/headless-process.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { spawnRelay } from '../helpers/relay-process.ts'
import { waitFor } from '../helpers/wait.ts'

const root = join(import.meta.dirname, '..', '..')
const skip = networkSkipReason()

/** A Node older than the project needs (22.18) on this machine, if there is one. */
function oldNode (): string | undefined {
  const dirs = (process.env.PATH ?? '').split(':').filter(d => !d.includes('node_modules'))
  for (const candidate of [...dirs.map(d => join(d, 'node')), '/usr/bin/node', '/usr/local/bin/node']) {
    if (!existsSync(candidate)) continue
    const version = spawnSync(candidate, ['--version'], { encoding: 'utf8' }).stdout.trim().replace(/^v/, '')
    const [major, minor] = version.split('.').map(Number)
    if (major < 22 || (major === 22 && minor < 18)) return candidate
  }
  return undefined
}

async function run (node: string, args: string[]): Promise<{ code: number | null, text: string }> {
  const child = spawn(node, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let text = ''
  child.stdout.on('data', (c: Buffer) => { text += c.toString() })
  child.stderr.on('data', (c: Buffer) => { text += c.toString() })
  const [code] = await once(child, 'exit') as [number | null]
  return { code, text }
}

const answers = async (url: string): Promise<boolean> => {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1000) })).ok
  } catch {
    return false
  }
}

const CARD = { id: 'companion_lockie', name: 'Lockie', personality: 'calm', story: 'guards a folder', sample: 'mine' }

describe('starting the relay and the headless companion', { skip }, () => {
  let dir: string
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'kotoba-launch-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  const old = oldNode()
  describe(`on an older Node (${old ?? 'none on this machine'})`, { skip: old === undefined ? 'no Node older than 22.18 on this machine' : false }, () => {
    it('node relay and the companion run on the project\'s Node: flags, output and exit codes pass through', async () => {
      const help = await run(old!, ['relay', '--help'])
      assert.equal(help.code, 0)
      assert.match(help.text, /^Usage: node relay/)
      const refused = await run(old!, ['relay', '--port', 'eighty'])
      assert.equal(refused.code, 2)
      assert.match(refused.text, /--port must be a whole number/)
      const companion = await run(old!, ['headless', '--help'])
      assert.equal(companion.code, 0)
      assert.match(companion.text, /--card FILE/)
    })

    it('a signal to the launcher reaches the relay, which shuts down cleanly; a killed launcher takes the relay with it', async () => {
      const relay = await spawnRelay({ dataDir: join(dir, 'old-node'), node: old })
      const health = `${relay.httpUrl}healthz`
      assert.ok(await answers(health))
      assert.equal(await relay.kill('SIGTERM'), 0)
      assert.match(relay.output(), /SIGTERM: shutting down/)
      await waitFor(async () => !await answers(health), 'the relay to be gone')

      const again = await spawnRelay({ dataDir: join(dir, 'old-node'), node: old })
      assert.equal(again.peerId, relay.peerId, 'the same data dir, the same peer id')
      await again.kill('SIGKILL')
      await waitFor(async () => !await answers(`${again.httpUrl}healthz`), 'the relay to go with its launcher', 10_000)
    })
  })

  it('a relay refuses a data dir another relay holds, says which and what to pass; a lock left by a killed relay does not block', async () => {
    const dataDir = join(dir, 'shared')
    const first = await spawnRelay({ dataDir })
    const second = await run(process.execPath, ['relay', '--host', '127.0.0.1', '--port', '0', '--no-mdns', '--data-dir', dataDir])
    assert.equal(second.code, 1)
    assert.match(second.text, new RegExp(`the data dir ${dataDir} is in use by process \\d+`))
    assert.match(second.text, /--data-dir DIR/)
    assert.doesNotMatch(second.text, /\n\s+at /, 'a plain message, not a stack trace')
    assert.ok(await answers(`${first.httpUrl}healthz`), 'the first relay runs on')

    await first.kill('SIGKILL')
    assert.ok(existsSync(join(dataDir, 'lock')), 'the killed relay left its lock behind')
    const restarted = await spawnRelay({ dataDir })
    assert.equal(restarted.peerId, first.peerId)
    assert.equal(JSON.parse(await readFile(join(dataDir, 'lock'), 'utf8')).pid, restarted.child.pid)
    await restarted.kill()
    assert.equal(existsSync(join(dataDir, 'lock')), false, 'a relay that stops lets go of its data dir')
  })

  it('a headless companion refuses a data dir another one holds', async () => {
    const card = join(dir, 'lockie.json')
    await writeFile(card, JSON.stringify(CARD))
    const args = ['--card', card, '--data-dir', join(dir, 'lockie'), '--host', '127.0.0.1', '--no-mdns']
    const first = await spawnHeadless(args)
    try {
      const second = await run(process.execPath, ['headless', ...args])
      assert.equal(second.code, 1)
      assert.match(second.text, /is in use by process \d+.*--data-dir DIR/s)
    } finally {
      await first.kill()
    }
  })

  it('an idle relay (mDNS on, no tabs) stays under 100 MB of memory, as /healthz reports it', async () => {
    const relay = await spawnRelay({ dataDir: join(dir, 'idle'), mdns: true })
    try {
      // Past the start's allocations.
      await new Promise(resolve => setTimeout(resolve, 3000))
      const health = await (await fetch(`${relay.httpUrl}healthz`)).json() as { memory: { rssBytes: number } }
      const mb = health.memory.rssBytes / 1e6
      assert.ok(mb <= 100, `idle relay RSS ${mb.toFixed(1)} MB`)
    } finally {
      await relay.kill()
    }
  })
})
