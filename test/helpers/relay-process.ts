/**
 * A real relay process (`node relay`), as a person starts it, with its
 * printed addresses parsed back.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess, SpawnOptions } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import type { LanHost } from './lan.ts'
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
  /** Run on this host of a test LAN, listening on all its interfaces (default: here, on loopback). */
  lanHost?: LanHost
  /** Discover LAN peers by mDNS (default off). */
  mdns?: boolean
  /** The Node to start `node relay` with (default: the one running the tests). */
  node?: string
}

export async function spawnRelay (options: RelayProcessOptions): Promise<RelayProcess> {
  const args = [
    join(root, 'relay'),
    '--host', options.lanHost === undefined ? '127.0.0.1' : '0.0.0.0',
    '--port', String(options.port ?? 0),
    '--ws-port', String(options.wsPort ?? 0),
    '--tcp-port', String(options.tcpPort ?? 0),
    '--data-dir', options.dataDir,
    '--web-root', join(root, 'dist'),
    ...(options.mdns === true ? [] : ['--no-mdns']),
    ...(options.args ?? [])
  ]
  const spawnOptions: SpawnOptions = { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] }
  const node = options.node ?? process.execPath
  const child = options.lanHost === undefined ? spawn(node, args, spawnOptions) : options.lanHost.spawn(node, args, spawnOptions)
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString() })
  let exited = false
  child.once('exit', () => { exited = true })

  await waitFor(() => {
    if (exited) throw new Error(`relay exited before it was ready:\n${output}`)
    return /firehose\s+wss?:\/\//.test(output)
  }, 'the relay to print its addresses', 20_000)

  const peerId = /peer id\s+(\S+)/.exec(output)![1]
  // With --tls: https and wss.
  const secure = /open\s+https:/.test(output) ? 's' : ''
  const httpPort = Number(/open\s+https?:\/\/[^:]+:(\d+)\//.exec(output)![1])
  const ip = options.lanHost?.ip ?? '127.0.0.1'
  const wsPort = Number(/\/tcp\/(\d+)\/(?:tls\/)?ws\/p2p\//.exec(output)![1])
  const tcpPort = Number(/\/tcp\/(\d+)\/p2p\//.exec(output)![1])
  return {
    child,
    httpUrl: `http${secure}://${ip}:${httpPort}/`,
    firehoseUrl: `ws${secure}://${ip}:${httpPort}/firehose`,
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
