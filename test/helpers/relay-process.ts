/**
 * A real relay process (`node relay`), as a person starts it, with its
 * printed addresses parsed back.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { waitFor } from './wait.ts'

const root = join(import.meta.dirname, '..', '..')

export interface RelayProcess {
  child: ChildProcess
  httpUrl: string
  firehoseUrl: string
  peerId: string
  httpPort: number
  wsPort: number
  tcpPort: number
  /** Everything the process printed so far. */
  output: () => string
  kill: (signal?: NodeJS.Signals) => Promise<number | null>
}

export interface RelayProcessOptions {
  dataDir: string
  port?: number
  wsPort?: number
  tcpPort?: number
  args?: string[]
}

export async function spawnRelay (options: RelayProcessOptions): Promise<RelayProcess> {
  const args = [
    join(root, 'relay'),
    '--host', '127.0.0.1',
    '--port', String(options.port ?? 0),
    '--ws-port', String(options.wsPort ?? 0),
    '--tcp-port', String(options.tcpPort ?? 0),
    '--data-dir', options.dataDir,
    '--web-root', join(root, 'dist'),
    '--no-mdns',
    ...(options.args ?? [])
  ]
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString() })
  let exited = false
  child.once('exit', () => { exited = true })

  await waitFor(() => {
    if (exited) throw new Error(`relay exited before it was ready:\n${output}`)
    return /firehose\s+ws:\/\//.test(output)
  }, 'the relay to print its addresses', 20_000)

  const peerId = /peer id\s+(\S+)/.exec(output)![1]
  const httpPort = Number(/open\s+http:\/\/[^:]+:(\d+)\//.exec(output)![1])
  const wsPort = Number(/\/tcp\/(\d+)\/ws\/p2p\//.exec(output)![1])
  const tcpPort = Number(/\/tcp\/(\d+)\/p2p\//.exec(output)![1])
  return {
    child,
    httpUrl: `http://127.0.0.1:${httpPort}/`,
    firehoseUrl: `ws://127.0.0.1:${httpPort}/firehose`,
    peerId,
    httpPort,
    wsPort,
    tcpPort,
    output: () => output,
    kill: async (signal = 'SIGTERM') => {
      if (exited) return child.exitCode
      const done = once(child, 'exit')
      child.kill(signal)
      const [code] = await done as [number | null]
      return code
    }
  }
}
