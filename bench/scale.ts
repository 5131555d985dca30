/**
 * `npm run bench -- scale`: how many companions one relay carries. Simulated
 * companions (bench/scale-worker.ts: WebSocket, reservation, GossipSub on
 * their room's topics, the room's directory, each line's votes and decision) join in
 * rooms of ROOM_SIZE, run by WORKERS child processes, in steps of 50, 100,
 * 200, 500 and 1000. At each step a firehose client says LINES_PER_ROOM lines
 * in every room, one every ROOM_LINE_GAP_MS in each (so the load grows with
 * the rooms), and on each the companions vote by a named room's rule (only
 * votes that could still win are sent) and its leader decides; each step prints what reached whom (every line to every
 * companion of its room), the one-way latency, the relay's CPU (percent of
 * one core) and memory, and what each companion costs the relay. The last
 * line names the knee: the largest step with everything delivered and p99 at
 * most KNEE_P99_MS (the steps go on past it while everything is delivered). When the machine itself is busy (the companions'
 * processes share its two cores with the relay), the step says so.
 */
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { messageSend } from '../protocol/build.ts'
import { openFirehose } from '../test/helpers/firehose-client.ts'
import { spawnRelay } from '../test/helpers/relay-process.ts'
import { waitFor } from '../test/helpers/wait.ts'
import { fmt, now, stats } from './stats.ts'
import { wholesFromEnv } from './env.ts'

/** The steps (`KOTOBA_SCALE_STEPS=50,100` to try fewer). */
const STEPS = wholesFromEnv('KOTOBA_SCALE_STEPS', [50, 100, 200, 500, 1000])
const ROOM_SIZE = 10
const WORKERS = 4
const LINES_PER_ROOM = 3
/** Each room gets a line this often (a lively conversation), the rooms' lines spread evenly over it. */
const ROOM_LINE_GAP_MS = 2000
const KNEE_P99_MS = 100

export const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** CPU time a process has used so far (ms), from /proc. */
export function cpuTimeMs (pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}
export function rssBytes (pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
  return Number(kb ?? 0) * 1024
}
/** The machine's busy and total time so far (clock ticks), every core. */
export function machineTicks (): { busy: number, total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number)
  const idle = cpu[3] + cpu[4]
  const total = cpu.reduce((a, b) => a + b, 0)
  return { busy: total - idle, total }
}

export interface Worker { child: ChildProcess, latencies: number[], votes: number, added: number | undefined }

/** Stops the companions' processes (each stops its companions first), killed if they take over 20 s. */
export async function stopWorkers (workers: Worker[]): Promise<void> {
  for (const w of workers) {
    const exited = new Promise(resolve => w.child.once('exit', resolve))
    w.child.send({ type: 'stop' })
    await Promise.race([exited, sleep(20_000)])
    w.child.kill('SIGKILL')
  }
}

export async function startWorker (relayAddr: string): Promise<Worker> {
  const child = fork(join(import.meta.dirname, 'scale-worker.ts'), [relayAddr], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  const worker: Worker = { child, latencies: [], votes: 0, added: undefined }
  let ready = false
  child.on('message', (message: { type: string, values?: number[], joined?: number, count?: number }) => {
    if (message.type === 'ready') ready = true
    if (message.type === 'latencies') worker.latencies.push(...message.values!)
    if (message.type === 'votes') worker.votes += message.count!
    if (message.type === 'added') worker.added = message.joined
  })
  await waitFor(() => ready, 'a worker to start', 60_000)
  return worker
}

export async function benchScale (): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kotoba-bench-scale-'))
  const relay = await spawnRelay({
    dataDir: join(dir, 'relay'),
    args: ['--firehose-rate', '1000', '--max-reservations', '2000', '--max-connections', '3000', '--max-rooms', '300']
  })
  const pid = relay.child.pid!
  const workers: Worker[] = []
  try {
    await sleep(2000)
    const idleRss = rssBytes(pid)
    const relayAddr = `/ip4/127.0.0.1/tcp/${relay.wsPort}/ws/p2p/${relay.peerId}`
    for (let i = 0; i < WORKERS; i++) workers.push(await startWorker(relayAddr))
    const sender = await openFirehose(`${relay.firehoseUrl}?v=1`)
    console.log(`\nscale: simulated companions on one relay, rooms of ${ROOM_SIZE}, ${WORKERS} processes of companions; ${LINES_PER_ROOM} lines a room from a firehose client, one every ${ROOM_LINE_GAP_MS / 1000} s in each room, to everyone; on each the votes that could win, and the leader's decision`)
    console.log(`relay idle: ${(idleRss / 1e6).toFixed(1)} MB`)
    console.log('  companions  rooms   delivered      median        p99   relay cpu   relay rss   per companion (cpu, rss)   machine busy   busiest companion process')
    let knee = 0
    let pastKnee = false
    let companions = 0
    /** Each completed step: companions, the relay's CPU (% of a core) and RSS (MB). */
    const costs: Array<{ n: number, cpu: number, mb: number }> = []
    for (const step of STEPS) {
      // Join the new rooms, each room's companions spread over the workers (a room's
      // burst of votes on a line is then shared by every process, as by many machines).
      const rooms = Array.from({ length: (step - companions) / ROOM_SIZE }, (_, i) => `scale-${companions / ROOM_SIZE + i}`)
      const joinedAt = now()
      for (const w of workers) w.added = undefined
      workers.forEach((w, i) => {
        const mine = rooms.map((room): [string, number] => [room, Math.floor(ROOM_SIZE / WORKERS) + (i < ROOM_SIZE % WORKERS ? 1 : 0)]).filter(([, n]) => n > 0)
        if (mine.length === 0) w.added = 0
        else w.child.send({ type: 'add', rooms: mine })
      })
      await waitFor(() => workers.every(w => w.added !== undefined), `${step} companions to join`, 600_000, 200)
      const joined = companions + workers.reduce((n, w) => n + (w.added ?? 0), 0)
      const joinSeconds = (now() - joinedAt) / 1000
      companions = step
      // Past the joining announcements (a few seconds), the relay at its steady pace.
      await sleep(5000)
      for (const w of workers) w.latencies = []

      const allRooms = Array.from({ length: step / ROOM_SIZE }, (_, i) => `scale-${i}`)
      const cpuBefore = cpuTimeMs(pid)
      const workersBefore = workers.map(w => cpuTimeMs(w.child.pid!))
      const machineBefore = machineTicks()
      const started = now()
      for (let line = 0; line < LINES_PER_ROOM; line++) {
        for (const room of allRooms) {
          sender.send({ type: 'publish', room, topic: 'messages', body: messageSend({ from: 'user_bench', to: [], message: `scale ${step} ${room} ${line}`, metadata: { sentAt: now() } }) })
          await sleep(ROOM_LINE_GAP_MS / allRooms.length)
        }
      }
      await sleep(3500) // the last line's decision: the vote window after it
      const seconds = (now() - started) / 1000
      const cpu = (cpuTimeMs(pid) - cpuBefore) / 10 / seconds
      const busiestWorker = Math.max(...workers.map((w, i) => (cpuTimeMs(w.child.pid!) - workersBefore[i]) / 10 / seconds))
      const machineAfter = machineTicks()
      const busy = (machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total) * 100
      const rss = rssBytes(pid)
      await sleep(300) // the last latencies on their way from the workers
      const all = workers.flatMap(w => w.latencies)
      const expected = allRooms.length * LINES_PER_ROOM * ROOM_SIZE
      const s = all.length === 0 ? { median: Number.NaN, p99: Number.NaN } : stats(all)
      const ok = joined === step && all.length >= expected && s.p99 <= KNEE_P99_MS
      if (ok && !pastKnee) knee = step
      else pastKnee = true
      const perCpu = cpu / step
      const perRss = (rss - idleRss) / step
      console.log(`  ${String(step).padStart(10)} ${String(allRooms.length).padStart(6)}   ${`${all.length}/${expected}`.padStart(11)} ${fmt(s.median).padStart(11)} ${fmt(s.p99).padStart(10)} ${`${cpu.toFixed(0)}%`.padStart(11)} ${`${(rss / 1e6).toFixed(0)} MB`.padStart(11)}   ${`${perCpu.toFixed(2)}%, ${(perRss / 1024).toFixed(0)} KB`.padStart(24)}   ${`${busy.toFixed(0)}%`.padStart(12)}   ${`${busiestWorker.toFixed(0)}%`.padStart(10)}${joined < step ? `   (only ${joined} joined in ${joinSeconds.toFixed(0)} s)` : ''}${busy > 90 ? '   machine saturated' : busiestWorker > 90 ? '   a companion process saturated' : ''}`)
      if (joined === step) costs.push({ n: step, cpu, mb: rss / 1e6 })
      // Past the knee the steps go on while every line still reaches everyone: the relay's cost is measured there too.
      if (joined < step || all.length < expected) break
    }
    await sender.close()
    console.log(`scale: knee ${knee} companions on one relay`)
    printRelayCost(costs)
  } finally {
    await stopWorkers(workers)
    await relay.kill()
    await rm(dir, { recursive: true, force: true })
  }
}

/** Least squares: the line through points (x, y), as its slope and intercept. */
function fitLine (points: Array<[number, number]>): { slope: number, intercept: number } {
  const n = points.length
  const mx = points.reduce((a, [x]) => a + x, 0) / n
  const my = points.reduce((a, [, y]) => a + y, 0) / n
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0)
  const slope = sxx === 0 ? 0 : points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / sxx
  return { slope, intercept: my - slope * mx }
}

/**
 * What each companion costs the relay itself, from its own CPU and memory over the
 * steps (a line fitted through them, at this bench's message rate), whatever else the
 * machine runs: and so how many it carries alone at half a core.
 */
function printRelayCost (costs: Array<{ n: number, cpu: number, mb: number }>): void {
  if (costs.length < 2) {
    console.log('scale: relay cost per companion: fewer than two steps completed')
    return
  }
  const cpu = fitLine(costs.map(c => [c.n, c.cpu]))
  const mb = fitLine(costs.map(c => [c.n, c.mb]))
  const alone = cpu.slope > 0 ? Math.floor((50 - cpu.intercept) / cpu.slope) : Infinity
  console.log(`scale: relay cost per companion ${cpu.slope.toFixed(3)}% of a core, ${mb.slope.toFixed(2)} MB; alone it carries ${alone} at half a core`)
  console.log(`  (fitted through ${costs.map(c => `${c.n}: ${c.cpu.toFixed(0)}%, ${c.mb.toFixed(0)} MB`).join('; ')}; at none, ${cpu.intercept.toFixed(1)}% and ${mb.intercept.toFixed(0)} MB)`)
}
