/**
 * `npm run bench -- scale`, its second part: how big one room can get. One
 * room grows to 10, 25, 50 and 100 simulated companions (bench/scale-worker.ts,
 * four processes); at each size a firehose client says LINES lines in it,
 * one every LINE_GAP_MS, and every companion votes on each, as in a room of
 * the default room's make (every vote to every member: a room's deliveries
 * grow with the square of its size). Each size prints the lines delivered,
 * the deliveries per line (the line and the votes, to every member), the
 * relay's CPU and the lines' one-way p99; the last line is the room of 50's.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { messageSend } from '../protocol/build.ts'
import { openFirehose } from '../test/helpers/firehose-client.ts'
import { spawnRelay } from '../test/helpers/relay-process.ts'
import { waitFor } from '../test/helpers/wait.ts'
import { cpuTimeMs, machineTicks, sleep, startWorker, stopWorkers } from './scale.ts'
import type { Worker } from './scale.ts'
import { fmt, now, stats } from './stats.ts'

const SIZES = (process.env.KOTOBA_ROOM_SIZES ?? '10,25,50,100').split(',').map(Number)
const WORKERS = 4
const LINES = 5
const LINE_GAP_MS = 2000
const ROOM = 'one-big-room'
const ROOM_P99_GOAL_MS = 500

export async function benchOneRoom (): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kotoba-bench-room-'))
  const relay = await spawnRelay({ dataDir: join(dir, 'relay'), args: ['--firehose-rate', '1000', '--max-reservations', '500', '--max-connections', '1000'] })
  const pid = relay.child.pid!
  const workers: Worker[] = []
  try {
    const relayAddr = `/ip4/127.0.0.1/tcp/${relay.wsPort}/ws/p2p/${relay.peerId}`
    for (let i = 0; i < WORKERS; i++) workers.push(await startWorker(relayAddr))
    const sender = await openFirehose(`${relay.firehoseUrl}?v=1`)
    console.log(`\nscale: one room, growing; ${LINES} lines from a firehose client, one every ${LINE_GAP_MS / 1000} s, a vote from every companion on each`)
    console.log('  companions   lines delivered   deliveries a line (all to all)   relay cpu      median        p99   machine busy')
    let size = 0
    let fifty: string | undefined
    for (const target of SIZES) {
      // The newcomers, spread over the workers.
      for (const w of workers) w.added = undefined
      workers.forEach((w, i) => {
        const mine = Math.floor((target - size) / WORKERS) + (i < (target - size) % WORKERS ? 1 : 0)
        if (mine === 0) w.added = 0
        else w.child.send({ type: 'add', rooms: [[ROOM, mine]] })
      })
      await waitFor(() => workers.every(w => w.added !== undefined), `${target} companions in the room`, 300_000, 200)
      size = target
      await sleep(5000) // past the newcomers' announcements
      for (const w of workers) { w.latencies = []; w.votes = 0 }
      const cpuBefore = cpuTimeMs(pid)
      const machineBefore = machineTicks()
      const started = now()
      for (let line = 0; line < LINES; line++) {
        sender.send({ type: 'publish', room: ROOM, topic: 'messages', body: messageSend({ from: 'user_bench', to: ['user_nobody'], message: `room ${target} line ${line}`, metadata: { sentAt: now() } }) })
        await sleep(LINE_GAP_MS)
      }
      await sleep(3000) // the last votes
      const cpu = (cpuTimeMs(pid) - cpuBefore) / 10 / ((now() - started) / 1000)
      const machineAfter = machineTicks()
      const busy = (machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total) * 100
      const latencies = workers.flatMap(w => w.latencies)
      const votes = workers.reduce((n, w) => n + w.votes, 0)
      const expected = LINES * target
      const s = latencies.length === 0 ? { median: Number.NaN, p99: Number.NaN } : stats(latencies)
      // Each line to every companion, and every companion's vote on it to every other.
      const deliveries = `${((latencies.length + votes) / LINES).toFixed(0)} (${target * target})`
      console.log(`  ${String(target).padStart(10)}   ${`${latencies.length}/${expected}`.padStart(15)}   ${deliveries.padStart(30)}   ${`${cpu.toFixed(0)}%`.padStart(9)} ${fmt(s.median).padStart(11)} ${fmt(s.p99).padStart(10)}   ${`${busy.toFixed(0)}%`.padStart(12)}${busy > 90 ? '   machine saturated' : ''}`)
      if (target === 50) fifty = latencies.length >= expected ? `all lines to all, p99 ${s.p99.toFixed(0)} ms` : `${latencies.length} of ${expected} lines delivered, p99 ${s.p99.toFixed(0)} ms`
    }
    await sender.close()
    if (fifty !== undefined) console.log(`scale: one room of 50: ${fifty} (goal p99 <= ${ROOM_P99_GOAL_MS} ms)`)
  } finally {
    await stopWorkers(workers)
    await relay.kill()
    await rm(dir, { recursive: true, force: true })
  }
}
