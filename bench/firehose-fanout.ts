/**
 * Firehose fan-out: one relay-side firehose broadcasting to 10, 100 and 1000
 * WebSocket clients (in a worker thread), beside a bare `ws` broadcast loop
 * run the same way in the same process. Prints throughput (deliveries per
 * second, and the ratio to the bare loop), the knee (the highest rate the
 * firehose sustains for 1000 clients), and p50/p99 latency at half the knee.
 */
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Worker } from 'node:worker_threads'
import { WebSocketServer } from 'ws'
import { messageSend } from '../protocol/build.ts'
import type { Message } from '../protocol/payloads.ts'
import { createFirehose } from '../relay/firehose.ts'
import { fmt, now, stats } from './stats.ts'
import { DEFAULT_ROOM } from '../protocol/rooms.ts'

interface Target {
  name: string
  url: string
  /** Sends one payload (and its JSON text, as it arrived) to every client. */
  broadcast: (message: Message, json: string) => void
  close: () => Promise<void>
}

async function firehoseTarget (): Promise<Target> {
  // Limits opened up: the benchmark measures fan-out, not the slow-client guard.
  const firehose = createFirehose({ publish: async () => {}, rooms: { want: () => ({ ok: true }), release: () => {}, listed: () => [] }, limits: { maxClients: 5000, sendBufferBytes: 256 * 1024 * 1024 } })
  const server = createServer()
  server.on('upgrade', (req, socket, head) => { firehose.handleUpgrade(req, socket, head) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    name: 'firehose',
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/firehose`,
    broadcast: (message, json) => { firehose.broadcast({ room: DEFAULT_ROOM, topic: 'messages', payload: message, json, peer: 'firehose' }) },
    close: async () => { await firehose.close(); server.close() }
  }
}

async function bareTarget (): Promise<Target> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  await once(wss, 'listening')
  return {
    name: 'bare ws loop',
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    broadcast: (_message, json) => { for (const client of wss.clients) client.send(json) },
    close: async () => { for (const c of wss.clients) c.terminate(); await new Promise(resolve => wss.close(resolve)) }
  }
}

/** Message `n` as a relay holds it: decoded, and its JSON text. */
function payload (n: number): [Message, string] {
  const message = messageSend({ id: `bench-${n}`, from: 'user_bench', to: [], message: 'a line of about the usual length for a companion, said to everyone', metadata: { t: now() } })
  return [message, JSON.stringify(message)]
}

class Clients {
  readonly worker: Worker
  constructor (url: string, clients: number) {
    this.worker = new Worker(new URL('./fanout-clients.ts', import.meta.url), { workerData: { url, clients, sampleEvery: Math.max(1, Math.floor(clients / 20)) } })
  }

  async ask (type: string): Promise<any> {
    const answer = once(this.worker, 'message')
    this.worker.postMessage({ type })
    return (await answer)[0]
  }

  async ready (): Promise<void> { await once(this.worker, 'message') }
  async close (): Promise<void> { this.worker.postMessage({ type: 'close' }); await once(this.worker, 'exit') }
}

/** Sends `messages` at `rate` per second (Infinity: as fast as possible), waits for every delivery. */
async function run (target: Target, clients: Clients, count: number, messages: number, rate: number): Promise<{ perSecond: number, latency: ReturnType<typeof stats> }> {
  await clients.ask('reset')
  const started = now()
  for (let n = 0; n < messages; n++) {
    target.broadcast(...payload(n))
    if (rate === Infinity) {
      if (n % 10 === 9) await new Promise(resolve => setImmediate(resolve))
    } else {
      const due = started + (n + 1) * 1000 / rate
      const wait = due - now()
      if (wait > 1) await new Promise(resolve => setTimeout(resolve, wait))
      else await new Promise(resolve => setImmediate(resolve))
    }
  }
  const expected = count * messages
  const deadline = now() + 120_000
  for (;;) {
    const report = await clients.ask('report')
    if (report.deliveries >= expected) return { perSecond: expected / ((report.lastAt - started) / 1000), latency: stats(report.latencies) }
    if (now() > deadline) throw new Error(`only ${report.deliveries} of ${expected} deliveries`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

export async function benchFirehoseFanout (): Promise<void> {
  console.log('\nfirehose fan-out (clients in a worker thread; same payload, same process for both)')
  console.log('  clients   firehose deliveries/s   bare ws loop deliveries/s   ratio   target >= 0.8x')
  let knee = 0
  for (const [count, messages] of [[10, 5000], [100, 1500], [1000, 300]] as const) {
    const results: Record<string, number> = {}
    for (const make of [bareTarget, firehoseTarget]) {
      const target = await make()
      const clients = new Clients(target.url, count)
      await clients.ready()
      await run(target, clients, count, Math.ceil(messages / 5), Infinity) // warm-up
      // Best of three: the machine has two cores and other work.
      let best = 0
      for (let i = 0; i < 3; i++) best = Math.max(best, (await run(target, clients, count, messages, Infinity)).perSecond)
      results[target.name] = best
      if (target.name === 'firehose' && count === 1000) knee = best / count
      await clients.close()
      await target.close()
    }
    const ratio = results.firehose / results['bare ws loop']
    console.log(`  ${String(count).padStart(7)}   ${results.firehose.toFixed(0).padStart(21)}   ${results['bare ws loop'].toFixed(0).padStart(25)}   ${ratio.toFixed(2).padStart(5)}x  ${ratio >= 0.8 ? 'ok' : 'UNDER'}`)
  }

  // Latency to 1000 clients at half the knee (the most messages a second it sustains).
  const target = await firehoseTarget()
  const clients = new Clients(target.url, 1000)
  await clients.ready()
  const rate = Math.max(1, Math.floor(knee / 2))
  const { latency } = await run(target, clients, 1000, Math.max(50, rate * 3), rate)
  console.log(`\n  knee for 1000 clients: ${knee.toFixed(0)} messages/s; at half (${rate}/s) one-way latency`)
  console.log(`    p50 ${fmt(latency.median)}   p99 ${fmt(latency.p99)}   target p99 < 50 ms  ${latency.p99 < 50 ? 'ok' : 'OVER'}   (${latency.n} samples)`)
  await clients.close()
  await target.close()
}
