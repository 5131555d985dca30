/**
 * A child process of the LAN benchmark: runs headless companions (the real
 * thing: presence, turn-taking, built-in brain), each its own libp2p node
 * joined to the relay at `relayAddr`, so many in each room (`room:n,room:n`),
 * and reports over IPC the one-way latency of every benchmark message each
 * companion receives.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startHeadlessCompanion } from '../headless/headless-companion.ts'
import type { HeadlessCompanion } from '../headless/headless-companion.ts'
import { now } from './stats.ts'
import { roomName } from '../protocol/rooms.ts'
import { SILENT } from '../p2p/logger.ts'

const [relayAddr, roomsText, prefix] = process.argv.slice(2)
const rooms = roomsText.split(',').map(r => r.split(':')).flatMap(([room, n]) => Array.from({ length: Number(n) }, () => roomName(room)))
const dir = await mkdtemp(join(tmpdir(), 'kotoba-swarm-'))
const companions: HeadlessCompanion[] = []
let batch: number[] = []

for (const [i, room] of rooms.entries()) {
  const id = `companion_${prefix}${i}`
  const companion = await startHeadlessCompanion({
    card: { id, name: `${prefix}${i}`, personality: 'quiet', story: 'a benchmark companion', sample: 'hm' },
    room, host: '127.0.0.1', tcpPort: 0, mdns: false, bootstrap: [relayAddr], dataDir: join(dir, id), turnLimit: 2
  }, { log: SILENT })
  companion.bus.onPayload((delivery) => {
    if (delivery.topic !== 'messages') return
    const sentAt = delivery.payload.params.metadata?.sentAt
    if (typeof sentAt === 'number') batch.push(now() - sentAt)
  })
  companions.push(companion)
}
process.send!({ type: 'ready' })
const flush = setInterval(() => {
  if (batch.length === 0) return
  process.send!({ type: 'latencies', values: batch })
  batch = []
}, 200)

process.on('message', (message: { type: string }) => {
  if (message.type !== 'stop') return
  clearInterval(flush)
  if (batch.length > 0) process.send!({ type: 'latencies', values: batch })
  void Promise.all(companions.map(async c => { await c.close() }))
    .finally(async () => { await rm(dir, { recursive: true, force: true }); process.exit(0) })
})
// The benchmark went away (it ended, or was stopped): so do we.
process.on('disconnect', () => { process.exit(0) })
