/**
 * Worker thread for the fan-out benchmark: opens N WebSocket clients to a
 * URL, counts every delivery, and records one-way latencies on a sample of
 * the clients (the sender stamps `"t":<ms>` into each payload). Kept off the
 * main thread so the server under test has a core of its own.
 */
import { parentPort, workerData } from 'node:worker_threads'
import WebSocket from 'ws'

const { url, clients, sampleEvery } = workerData as { url: string, clients: number, sampleEvery: number }
const now = (): number => performance.timeOrigin + performance.now()
let deliveries = 0
let lastAt = 0
const latencies: number[] = []
const sockets: WebSocket[] = []

for (let i = 0; i < clients; i++) {
  const ws = new WebSocket(url)
  const sampled = i % sampleEvery === 0
  ws.on('message', (data: Buffer) => {
    deliveries++
    lastAt = now()
    if (sampled) {
      const match = /"t":([\d.]+)/.exec(data.toString())
      if (match !== null) latencies.push(lastAt - Number(match[1]))
    }
  })
  ws.on('error', () => {})
  sockets.push(ws)
}
await Promise.all(sockets.map(async ws => await new Promise(resolve => ws.once('open', resolve))))
parentPort!.postMessage({ type: 'ready' })

parentPort!.on('message', (message: { type: string }) => {
  if (message.type === 'reset') {
    deliveries = 0
    latencies.length = 0
    parentPort!.postMessage({ type: 'reset' })
  } else if (message.type === 'report') {
    parentPort!.postMessage({ type: 'report', deliveries, lastAt, latencies })
  } else if (message.type === 'close') {
    for (const ws of sockets) ws.terminate()
    parentPort!.close()
  }
})
