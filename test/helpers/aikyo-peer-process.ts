/**
 * The aikyo test peer (aikyo-peer.ts) in a process of its own, so it can run
 * on a host of a test LAN (its own network namespace, its own mDNS) beside a
 * relay there. Run directly, it starts the peer from the JSON options in its
 * first argument and prints what it does as `AIKYO {json}` lines; the test
 * side (`spawnAikyoPeer`) reads them back into the same view.
 */
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { seededRandom } from '../../companion/random.ts'
import { startAikyoPeer } from './aikyo-peer.ts'
import type { AikyoCard, AikyoEvent } from './aikyo-peer.ts'
import type { LanHost } from './lan.ts'
import { waitFor } from './wait.ts'

/**
 * The model: every call 0.3 s, every call `ms`, or seeded between 0.3 and 10 s, log-uniform
 * (as a real model's calls: most take a second or two, now and then one takes ten).
 */
export type AikyoModel = { kind: 'fast' } | { kind: 'steady', ms: number } | { kind: 'slow', seed: number }

export interface AikyoProcessOptions {
  card: AikyoCard
  model: AikyoModel
  closeAfter?: number
  /** Its key, base64 protobuf: a peer id fixed in advance (see `fixedKey`). */
  privateKey?: string
  /** aikyo's firehose rather than a companion. */
  firehose?: boolean
}

/** What a test sees of an aikyo peer, in this process or another. */
export interface AikyoView {
  peerId: string
  events: AikyoEvent[]
  /** The companion ids whose cards it holds (its own included). */
  companionIds: () => string[]
  readonly generating: boolean
  stop: () => Promise<void>
}

export function modelMs (model: AikyoModel): () => number {
  if (model.kind === 'fast') return () => 300
  if (model.kind === 'steady') return () => model.ms
  const random = seededRandom(model.seed)
  return () => Math.round(300 * (10_000 / 300) ** random())
}

export async function spawnAikyoPeer (options: AikyoProcessOptions, host: LanHost): Promise<AikyoView> {
  const child: ChildProcess = host.spawn(process.execPath, [import.meta.filename, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] })
  const events: AikyoEvent[] = []
  let companionIds: string[] = []
  let generating = false
  let peerId = ''
  let output = ''
  let buffered = ''
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString()
    const lines = buffered.split('\n')
    buffered = lines.pop() ?? ''
    for (const line of lines) {
      if (!line.startsWith('AIKYO ')) { output += `${line}\n`; continue }
      const update = JSON.parse(line.slice(6)) as { peerId?: string, event?: AikyoEvent, companions?: string[], generating?: boolean }
      if (update.peerId !== undefined) peerId = update.peerId
      if (update.event !== undefined) events.push(update.event)
      if (update.companions !== undefined) companionIds = update.companions
      if (update.generating !== undefined) generating = update.generating
    }
  })
  child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString() })
  await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`the aikyo peer exited:\n${output}`)
    return peerId !== ''
  }, 'the aikyo peer to start', 20_000)
  return {
    peerId,
    events,
    companionIds: () => companionIds,
    get generating () { return generating },
    stop: async () => {
      if (child.exitCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      await exited
    }
  }
}

/** In this process: the same view of a peer started here. */
export async function startAikyoView (options: AikyoProcessOptions): Promise<AikyoView> {
  const peer = await startAikyoPeer({
    card: options.card,
    modelMs: modelMs(options.model),
    ...(options.closeAfter === undefined ? {} : { closeAfter: options.closeAfter }),
    ...(options.privateKey === undefined ? {} : { privateKey: options.privateKey }),
    ...(options.firehose === undefined ? {} : { firehose: options.firehose })
  })
  return {
    peerId: peer.peerId,
    events: peer.events,
    companionIds: () => [...peer.companions.values()].map(c => c.id),
    get generating () { return peer.generating },
    stop: peer.stop
  }
}

if (process.argv[1] === import.meta.filename) {
  const options = JSON.parse(process.argv[2]) as AikyoProcessOptions
  const view = await startAikyoView(options)
  const print = (update: object): void => { process.stdout.write(`AIKYO ${JSON.stringify(update)}\n`) }
  print({ peerId: view.peerId })
  let sent = 0
  let companions = ''
  let generating = false
  const timer = setInterval(() => {
    for (; sent < view.events.length; sent++) print({ event: view.events[sent] })
    const ids = JSON.stringify(view.companionIds())
    if (ids !== companions) { companions = ids; print({ companions: view.companionIds() }) }
    if (view.generating !== generating) { generating = view.generating; print({ generating }) }
  }, 50)
  process.once('SIGTERM', () => {
    clearInterval(timer)
    void view.stop().then(() => process.exit(0))
  })
}
