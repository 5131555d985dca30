/**
 * `npm run bench -- scale`, its second part: how big one room can get. One
 * room grows to 10, 25, 50 and 100 simulated companions (bench/scale-worker.ts,
 * four processes); at each size a firehose client says LINES lines to
 * everyone in it, one every LINE_GAP_MS, and the companions vote on each by
 * the room's rule and the leader decides. Twice: in the default room, where
 * every companion votes (aikyo's rule: every vote to every member, so a
 * room's deliveries grow with the square of its size), then in a named room,
 * where only votes that could still win are sent. Each size prints the lines
 * delivered, the deliveries per line (the line, the votes and the decision,
 * to every member; the line alone in brackets), the relay's CPU and the lines'
 * one-way p99; the last lines are the rooms of 50.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { messageSend } from '../protocol/build.ts'
import { DEFAULT_ROOM, roomName, voteRuleOf } from '../protocol/rooms.ts'
import type { RoomName } from '../protocol/rooms.ts'
import { openFirehose } from '../test/helpers/firehose-client.ts'
import { spawnRelay } from '../test/helpers/relay-process.ts'
import { waitFor } from '../test/helpers/wait.ts'
import { cpuTimeMs, machineTicks, sleep, startWorker, stopWorkers } from './scale.ts'
import type { Worker } from './scale.ts'
import { fmt, now, stats } from './stats.ts'
import { wholesFromEnv } from './env.ts'

const SIZES = wholesFromEnv('KOTOBA_ROOM_SIZES', [10, 25, 50, 100])
const WORKERS = 4
const LINES = 5
const LINE_GAP_MS = 2000
const ROOM_P99_GOAL_MS = 500

export async function benchOneRoom (): Promise<void> {
  const every = await oneRoomSeries(DEFAULT_ROOM)
  const couldWin = await oneRoomSeries(roomName('one-big-room'))
  if (every !== undefined) console.log(`scale: one room of 50: ${every} (goal p99 <= ${ROOM_P99_GOAL_MS} ms)`)
  if (couldWin !== undefined) console.log(`scale: one named room of 50 (only votes that could win): ${couldWin}`)
}

/** One room grows through SIZES; returns what the room of 50 got, if it was one of them. */
async function oneRoomSeries (room: RoomName): Promise<string | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'kotoba-bench-room-'))
  const relay = await spawnRelay({ dataDir: join(dir, 'relay'), args: ['--firehose-rate', '1000', '--max-reservations', '500', '--max-connections', '1000'] })
  const pid = relay.child.pid!
  const workers: Worker[] = []
  try {
    const relayAddr = `/ip4/127.0.0.1/tcp/${relay.wsPort}/ws/p2p/${relay.peerId}`
    for (let i = 0; i < WORKERS; i++) workers.push(await startWorker(relayAddr))
    const sender = await openFirehose(`${relay.firehoseUrl}?v=1`)
    const rule = voteRuleOf(room) === 'every' ? 'every companion votes on each (aikyo\'s rule)' : 'only votes that could still win are sent'
    console.log(`\nscale: one room (${room}), growing; ${LINES} lines from a firehose client to everyone, one every ${LINE_GAP_MS / 1000} s; ${rule}, and the leader decides`)
    console.log('  companions   lines delivered   deliveries a line (the line to all)   relay cpu      median        p99   machine busy')
    let size = 0
    let fifty: string | undefined
    for (const target of SIZES) {
      // The newcomers, spread over the workers.
      for (const w of workers) w.added = undefined
      workers.forEach((w, i) => {
        const mine = Math.floor((target - size) / WORKERS) + (i < (target - size) % WORKERS ? 1 : 0)
        if (mine === 0) w.added = 0
        else w.child.send({ type: 'add', rooms: [[room, mine]] })
      })
      await waitFor(() => workers.every(w => w.added !== undefined), `${target} companions in the room`, 300_000, 200)
      size = target
      await sleep(5000) // past the newcomers' announcements
      for (const w of workers) { w.latencies = []; w.votes = 0 }
      const cpuBefore = cpuTimeMs(pid)
      const machineBefore = machineTicks()
      const started = now()
      for (let line = 0; line < LINES; line++) {
        sender.send({ type: 'publish', room, topic: 'messages', body: messageSend({ from: 'user_bench', to: [], message: `room ${target} line ${line}`, metadata: { sentAt: now() } }) })
        await sleep(LINE_GAP_MS)
      }
      await sleep(4000) // the last votes and decision
      const cpu = (cpuTimeMs(pid) - cpuBefore) / 10 / ((now() - started) / 1000)
      const machineAfter = machineTicks()
      const busy = (machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total) * 100
      const latencies = workers.flatMap(w => w.latencies)
      const votes = workers.reduce((n, w) => n + w.votes, 0)
      const expected = LINES * target
      const s = latencies.length === 0 ? { median: Number.NaN, p99: Number.NaN } : stats(latencies)
      // Each line to every companion, and each vote and decision on it to every other.
      const deliveries = `${((latencies.length + votes) / LINES).toFixed(0)} (${target})`
      console.log(`  ${String(target).padStart(10)}   ${`${latencies.length}/${expected}`.padStart(15)}   ${deliveries.padStart(35)}   ${`${cpu.toFixed(0)}%`.padStart(9)} ${fmt(s.median).padStart(11)} ${fmt(s.p99).padStart(10)}   ${`${busy.toFixed(0)}%`.padStart(12)}${busy > 90 ? '   machine saturated' : ''}`)
      const perLine = `${((latencies.length + votes) / LINES).toFixed(0)} deliveries a line`
      if (target === 50) fifty = latencies.length >= expected ? `all lines to all, p99 ${s.p99.toFixed(0)} ms, ${perLine}` : `${latencies.length} of ${expected} lines delivered, p99 ${s.p99.toFixed(0)} ms, ${perLine}`
    }
    await sender.close()
    return fifty
  } finally {
    await stopWorkers(workers)
    await relay.kill()
    await rm(dir, { recursive: true, force: true })
  }
}
