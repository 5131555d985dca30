/**
 * host/shutdown.ts in a process of its own: a signal shuts down gracefully
 * and exits 0; a shutdown that fails exits 1 and says why; one that never
 * finishes exits 1 at its deadline and says so.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'

const shutdownModule = join(import.meta.dirname, '../../host/shutdown.ts')

/** Runs a process whose shutdown is `body`, sends it SIGTERM once it is ready, and returns how it ended. */
async function stopWith (body: string): Promise<{ code: number | null, output: string, ms: number }> {
  const script = `import { exitOnSignals } from ${JSON.stringify(shutdownModule)}
exitOnSignals(async () => { ${body} }, { deadlineMs: 300 })
setInterval(() => {}, 1000)
console.log('ready')`
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  let sentAt = 0
  const ready = new Promise<void>(resolve => {
    child.stdout.on('data', (chunk: Buffer) => { output += String(chunk); if (output.includes('ready')) resolve() })
  })
  child.stderr.on('data', (chunk: Buffer) => { output += String(chunk) })
  const exited = new Promise<number | null>(resolve => child.on('exit', resolve))
  await ready
  sentAt = Date.now()
  child.kill('SIGTERM')
  const code = await exited
  return { code, output, ms: Date.now() - sentAt }
}

describe('stopping on a signal', () => {
  it('a graceful shutdown exits 0', async () => {
    const { code } = await stopWith('await new Promise(resolve => setTimeout(resolve, 10))')
    assert.equal(code, 0)
  })

  it('a shutdown that fails exits 1 and says why', async () => {
    const { code, output } = await stopWith('throw new Error("the disk is gone")')
    assert.equal(code, 1)
    assert.match(output, /shutdown failed: the disk is gone/)
  })

  it('a shutdown that never finishes exits 1 at its deadline and says so', async () => {
    const { code, output, ms } = await stopWith('await new Promise(() => {})')
    assert.equal(code, 1)
    assert.match(output, /shutdown did not finish within 0\.3 s: exiting now/)
    assert.ok(ms >= 300, `not before the deadline (${ms} ms)`)
  })
})
