/**
 * The LAN mesh: (1) one-way message latency across 1, 2 and 3 relays
 * chained by `--bootstrap` (a firehose client publishes on the first relay;
 * clients of each relay receive; the 1-relay figure is the baseline), and
 * (2) how many headless companions one relay carries while p99 delivery of
 * a message, from a firehose client to every companion of its room, stays under 100 ms
 * and every companion gets every message: companions are added in steps
 * until that fails (the knee), and one step more to show how it degrades.
 * The companions are in rooms of ten, and each message is said in every
 * room (the rooms' messages spread over the gap between two, as separate
 * conversations are). `subscribed` is how many of them the relay's room
 * directories list;
 * `cpu` is how busy the companion processes were while the messages flowed
 * (percent of one core each, averaged), `relay cpu` the relay's, `machine
 * busy` both cores': where that nears 100%, the machine ran out, not the relay.
 */
import { readFileSync } from 'node:fs'
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { messageSend } from '../protocol/build.ts'
import { openFirehose } from '../test/helpers/firehose-client.ts'
import type { FirehoseClient } from '../test/helpers/firehose-client.ts'
import { spawnRelay } from '../test/helpers/relay-process.ts'
import type { RelayProcess } from '../test/helpers/relay-process.ts'
import { waitFor } from '../test/helpers/wait.ts'
import { fmt, now, stats } from './stats.ts'
import { wholesFromEnv } from './env.ts'

const HOP_MESSAGES = 200
const KNEE_MESSAGES = 50
const KNEE_P99_MS = 100
/** Companions are in rooms of this many (a roomful, not one room of everyone). */
const ROOM_SIZE = 10
/** The steps (`KOTOBA_LAN_STEPS=64,100` to try fewer). */
const SWARM_STEPS = wholesFromEnv('KOTOBA_LAN_STEPS', [8, 16, 32, 64, 100, 128, 160])
/** Processes the headless companions of a step are spread over. */
const SWARM_PROCESSES = 4

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/**
 * Stamped messages `${tag}${i}` from `sender`, one every `gap` ms, addressed
 * to nobody present (no companion answers); in the sender's room, or (a v1
 * client) in each of `rooms`, the rooms' messages spread evenly over the gap
 * (rooms are separate conversations, not in step).
 */
async function publishStamped (sender: FirehoseClient, tag: string, count: number, gap: number, rooms?: string[]): Promise<void> {
  for (let i = 0; i < count; i++) {
    if (rooms === undefined) {
      sender.send({ topic: 'messages', body: messageSend({ from: 'user_bench', to: ['user_nobody'], message: `${tag}${i}`, metadata: { sentAt: now() } }) })
      await sleep(gap)
      continue
    }
    for (const room of rooms) {
      const body = messageSend({ from: 'user_bench', to: ['user_nobody'], message: `${tag}${i}`, metadata: { sentAt: now() } })
      sender.send({ type: 'publish', room, topic: 'messages', body: { ...body, params: { ...body.params, id: `${body.params.id}-${room}` } } })
      await sleep(gap / rooms.length)
    }
  }
}

/** Rooms of at most ROOM_SIZE for `count` companions, as `[room, members]`. */
const roomsFor = (count: number): Array<[string, number]> =>
  Array.from({ length: Math.ceil(count / ROOM_SIZE) }, (_, i) => [`lan-${i}`, Math.min(ROOM_SIZE, count - i * ROOM_SIZE)])

const latenciesOf = (client: FirehoseClient, tag: string, arrivals: Map<unknown, number>): number[] =>
  client.frames.filter((f: any) => typeof f?.params?.message === 'string' && f.params.message.startsWith(tag))
    .map((f: any) => arrivals.get(f)! - f.params.metadata.sentAt)

/** Keeps each frame's arrival time (the client helper keeps frames, not times). */
function stampArrivals (client: FirehoseClient): Map<unknown, number> {
  const arrivals = new Map<unknown, number>()
  client.ws.on('message', () => { arrivals.set(client.frames[client.frames.length - 1], now()) })
  return arrivals
}

async function benchHops (dir: string): Promise<void> {
  const relays: RelayProcess[] = []
  const clients: FirehoseClient[] = []
  try {
    for (let i = 0; i < 3; i++) {
      const previous = relays[i - 1]
      const bootstrap = previous === undefined ? [] : ['--bootstrap', `/ip4/127.0.0.1/tcp/${previous.tcpPort}/p2p/${previous.peerId}`]
      relays.push(await spawnRelay({ dataDir: join(dir, `hop${i}`), args: ['--firehose-rate', '1000', ...bootstrap] }))
    }
    const sender = await openFirehose(relays[0].firehoseUrl)
    for (const relay of relays) clients.push(await openFirehose(relay.firehoseUrl))
    const arrivals = clients.map(stampArrivals)
    // The chain carries gossip once every link has exchanged subscriptions.
    await waitFor(async () => {
      sender.send({ topic: 'messages', body: messageSend({ from: 'user_bench', to: ['user_nobody'], message: 'warm-up' }) })
      await sleep(200)
      return clients[2].frames.some((f: any) => f?.params?.message === 'warm-up')
    }, 'gossip along the chain of three relays', 30_000)
    await publishStamped(sender, 'hop-', HOP_MESSAGES, 10)
    await waitFor(() => clients.every(c => c.frames.filter((f: any) => f?.params?.message?.startsWith('hop-')).length >= HOP_MESSAGES), 'every message at every relay', 30_000)
    const base = stats(latenciesOf(clients[0], 'hop-', arrivals[0]))
    console.log(`\nLAN mesh: latency across relays chained by --bootstrap (${HOP_MESSAGES} messages, firehose -> firehose)`)
    console.log('                          median        p99   x 1 relay')
    for (const [i, client] of clients.entries()) {
      const s = stats(latenciesOf(client, 'hop-', arrivals[i]))
      console.log(`  ${`${i + 1} relay${i === 0 ? '' : 's'}`.padEnd(22)} ${fmt(s.median).padStart(9)} ${fmt(s.p99).padStart(10)}   ${(s.median / base.median).toFixed(2).padStart(6)}x`)
    }
    await sender.close()
  } finally {
    await Promise.all(clients.map(async c => { await c.close() }))
    await Promise.all(relays.map(async r => await r.kill()))
  }
}

interface Swarm { child: ChildProcess, latencies: number[] }

/** CPU time a process has used so far (ms), from /proc (Linux). */
function cpuTimeMs (pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  // utime and stime, in clock ticks (100 per second on Linux).
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/** The machine's busy and total time so far (clock ticks), every core. */
function machineTicks (): { busy: number, total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number)
  const total = cpu.reduce((a, b) => a + b, 0)
  return { busy: total - cpu[3] - cpu[4], total }
}

async function startSwarm (relayAddr: string, rooms: Array<[string, number]>, prefix: string): Promise<Swarm> {
  const count = rooms.reduce((n, [, m]) => n + m, 0)
  const child = fork(join(import.meta.dirname, 'headless-swarm.ts'), [relayAddr, rooms.map(([r, n]) => `${r}:${n}`).join(','), prefix], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  const swarm: Swarm = { child, latencies: [] }
  let ready = false
  child.on('message', (message: { type: string, values?: number[] }) => {
    if (message.type === 'ready') ready = true
    if (message.type === 'latencies') swarm.latencies.push(...message.values!)
  })
  try {
    await waitFor(() => ready, `${count} headless companions to start`, 300_000)
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  }
  return swarm
}

async function stopSwarm (swarm: Swarm): Promise<void> {
  const exited = new Promise(resolve => swarm.child.once('exit', resolve))
  swarm.child.send({ type: 'stop' })
  await Promise.race([exited, sleep(15_000)])
  swarm.child.kill('SIGKILL')
}

async function benchHeadlessKnee (dir: string): Promise<void> {
  const relay = await spawnRelay({ dataDir: join(dir, 'knee'), args: ['--firehose-rate', '1000'] })
  const relayAddr = `/ip4/127.0.0.1/tcp/${relay.tcpPort}/p2p/${relay.peerId}`
  console.log(`\nLAN mesh: headless companions on one relay, in rooms of ${ROOM_SIZE} (${KNEE_MESSAGES} messages at 10/s from a firehose client in every room, to all of it; ${SWARM_PROCESSES} processes of companions)`)
  console.log('  companions subscribed     median        p99   delivered     cpu   relay cpu   machine busy   all, p99 < 100 ms')
  let knee = 0
  let failed = false
  try {
    for (const count of SWARM_STEPS) {
      const sender = await openFirehose(`${relay.firehoseUrl}?v=1`)
      // Each room's members spread over the processes.
      const rooms = roomsFor(count)
      const parts = Array.from({ length: SWARM_PROCESSES }, (_, p) => rooms
        .map(([room, n]): [string, number] => [room, Math.floor(n / SWARM_PROCESSES) + (p < n % SWARM_PROCESSES ? 1 : 0)])
        .filter(([, n]) => n > 0))
      // The sender watches the rooms too: their greetings must be over before the messages go.
      sender.send({ type: 'subscribe', rooms: rooms.map(([room]) => room).slice(0, 32) })
      const started = await Promise.allSettled(parts.map(async (mine, i) => await startSwarm(relayAddr, mine, `s${count}p${i}n`)))
      const swarms = started.flatMap(r => r.status === 'fulfilled' ? [r.value] : [])
      if (swarms.length < parts.length) {
        await Promise.all(swarms.map(stopSwarm))
        await sender.close()
        console.log(`  ${String(count).padStart(10)}   the companions did not all start within 5 minutes: this machine cannot run that many`)
        break
      }
      // Every companion connected, their subscriptions exchanged, and their greetings over.
      const health = async (): Promise<{ connections: number, rooms: { carried: Array<{ companions: number }> } }> =>
        await (await fetch(new URL('/healthz', relay.httpUrl))).json() as never
      await waitFor(async () => (await health()).connections >= count, `the relay to hold ${count} connections`, 60_000)
      await sleep(3000)
      await waitFor(() => Date.now() - sender.lastFrameAt() > 2000, 'the greetings to end', 60_000)
      const subscribed = (await health()).rooms.carried.reduce((n, r) => n + r.companions, 0)
      const cpuBefore = swarms.map(sw => cpuTimeMs(sw.child.pid!))
      const relayCpuBefore = cpuTimeMs(relay.child.pid!)
      const machineBefore = machineTicks()
      const since = now()
      await publishStamped(sender, `knee${count}-`, KNEE_MESSAGES, 100, rooms.map(([room]) => room))
      await sleep(2000)
      const cpu = swarms.reduce((sum, sw, i) => sum + cpuTimeMs(sw.child.pid!) - cpuBefore[i], 0) / swarms.length / (now() - since) * 100
      const relayCpu = (cpuTimeMs(relay.child.pid!) - relayCpuBefore) / (now() - since) * 100
      const machineAfter = machineTicks()
      const busy = (machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total) * 100
      await Promise.all(swarms.map(stopSwarm))
      await sender.close()
      const all = swarms.flatMap(s => s.latencies)
      const s = all.length === 0 ? { median: Number.NaN, p99: Number.NaN } : stats(all)
      const ok = all.length >= count * KNEE_MESSAGES && s.p99 < KNEE_P99_MS
      console.log(`  ${String(count).padStart(10)} ${String(subscribed).padStart(10)} ${fmt(s.median).padStart(10)} ${fmt(s.p99).padStart(10)}   ${String(all.length).padStart(5)}/${count * KNEE_MESSAGES}   ${`${cpu.toFixed(0)}%`.padStart(4)}   ${`${relayCpu.toFixed(0)}%`.padStart(9)}   ${`${busy.toFixed(0)}%`.padStart(12)}   ${ok ? 'yes' : 'no'}${!ok && busy > 90 ? ' (machine saturated: the companions share its cores with the relay)' : ''}`)
      if (failed) break
      if (ok) knee = count
      else failed = true
    }
    console.log(`  knee: ${knee === 0 ? `under ${SWARM_STEPS[0]}` : `${failed ? '' : 'at least '}${knee}${failed ? '' : ' (the largest step tried)'}`} headless companions with p99 under ${KNEE_P99_MS} ms`)
  } finally {
    await relay.kill()
  }
}

export async function benchLanMesh (): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kotoba-bench-lan-'))
  try {
    if (process.env.KOTOBA_LAN_STEPS === undefined) await benchHops(dir)
    await benchHeadlessKnee(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
