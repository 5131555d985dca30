/**
 * A real headless companion process (`npm run companion -- --card FILE`), as
 * a person starts it, here or on a host of a test LAN, with its output kept.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess, SpawnOptions } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import type { LanHost } from './lan.ts'
import { waitFor } from './wait.ts'

const root = join(import.meta.dirname, '..', '..')

export interface HeadlessProcess {
  child: ChildProcess
  peerId: string
  /** Everything the process printed so far. */
  output: () => string
  kill: () => Promise<void>
}

export async function spawnHeadless (args: string[], lanHost?: LanHost): Promise<HeadlessProcess> {
  const argv = [join(root, 'headless'), ...args]
  const options: SpawnOptions = { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] }
  const child = lanHost === undefined ? spawn(process.execPath, argv, options) : lanHost.spawn(process.execPath, argv, options)
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString() })
  await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`the headless companion exited before it was ready:\n${output}`)
    return /is running/.test(output)
  }, 'the headless companion to start', 20_000)
  return {
    child,
    peerId: /peer id\s+(\S+)/.exec(output)![1],
    output: () => output,
    kill: async () => {
      if (child.exitCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      await exited
    }
  }
}

/** Runs `npm run companion -- ARGS` to its end (for what it refuses): exit code and everything printed. */
export async function runHeadlessCommand (args: string[]): Promise<{ code: number | null, text: string }> {
  const child = spawn(process.execPath, [join(root, 'headless'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let text = ''
  child.stdout.on('data', (c: Buffer) => { text += c.toString() })
  child.stderr.on('data', (c: Buffer) => { text += c.toString() })
  const [code] = await once(child, 'exit') as [number | null]
  return { code, text }
}
