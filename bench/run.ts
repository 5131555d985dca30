/**
 * `npm run bench`: connection times and message latencies of the P2P core,
 * measured with a real relay process and real Chromium tabs inside a private
 * network namespace (loopback only). Prints figures; never fails on them.
 * Joining is measured against a bare js-libp2p page on the same relay, in
 * the same run (bench/join.ts).
 *
 * Latencies are one-way: the sender stamps `performance.timeOrigin +
 * performance.now()` into the payload's metadata and the receiver subtracts
 * it from its own. All processes read the same system clock.
 * Baseline, in the same run: a bare `ws` client-to-server message on loopback.
 */
import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import WebSocket, { WebSocketServer } from 'ws'
import { messageSend } from '../protocol/build.ts'
import { launchBrowser } from '../test/helpers/browser.ts'
import { openFirehose } from '../test/helpers/firehose-client.ts'
import { inPrivateNetns, runInPrivateNetns } from '../test/helpers/netns.ts'
import { spawnRelay } from '../test/helpers/relay-process.ts'
import { waitFor } from '../test/helpers/wait.ts'
import { benchBrain, benchSharedEndpoints } from './brain.ts'
import { benchFirehoseFanout } from './firehose-fanout.ts'
import { benchJoin } from './join.ts'
import { benchVariants } from './join-variants.ts'
import { benchLanMesh } from './lan-mesh.ts'
import { benchPageWeight } from './page-weight.ts'
import { benchScale } from './scale.ts'
import { benchOneRoom } from './scale-room.ts'
import { fmt, now, stats } from './stats.ts'

const root = join(import.meta.dirname, '..')
const MESSAGES = 250
const PAIRS = 5
const GAP_MS = 5


async function markTime (page: Page, name: string): Promise<number> {
  return await waitFor(async () => await page.evaluate((n) => performance.getEntriesByName(n)[0]?.startTime, name), `mark ${name}`, 20_000)
}

/** Collects, in the page, one-way latencies of payloads whose message starts with `tag`. */
async function listenForLatencies (page: Page, tag: string): Promise<void> {
  await page.evaluate((t) => {
    const store: number[] = []
    ;(window as unknown as Record<string, number[]>)[`latencies_${t}`] = store
    window.kotobaTestHooks!.onPayload((delivery) => {
      if (delivery.own || delivery.topic !== 'messages') return
      const { message, metadata } = delivery.payload.params
      if (message.startsWith(t) && typeof metadata?.sentAt === 'number') {
        store.push(performance.timeOrigin + performance.now() - metadata.sentAt)
      }
    })
  }, tag)
}

async function readLatencies (page: Page, tag: string, count: number): Promise<number[]> {
  return await waitFor(async () => {
    const values = await page.evaluate((t) => (window as unknown as Record<string, number[]>)[`latencies_${t}`], tag)
    return values.length >= count ? values : undefined
  }, `${count} messages tagged ${tag}`, 30_000)
}

/** Publishes MESSAGES stamped messages `${tag}${i}` from the tab, one every GAP_MS. */
async function publishFromTab (page: Page, tag: string): Promise<void> {
  await page.evaluate(async ({ count, gap, t }) => {
    for (let i = 0; i < count; i++) {
      await window.kotobaTestHooks!.publish('messages', {
        jsonrpc: '2.0', method: 'message.send',
        params: { id: crypto.randomUUID(), from: 'user_bench', to: [], message: `${t}${i}`, metadata: { sentAt: performance.timeOrigin + performance.now() } }
      })
      await new Promise(resolve => setTimeout(resolve, gap))
    }
  }, { count: MESSAGES, gap: GAP_MS, t: tag })
}

async function baselineWs (): Promise<number[]> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await once(server, 'listening')
  const latencies: number[] = []
  server.on('connection', ws => { ws.on('message', data => { latencies.push(now() - JSON.parse(data.toString()).sentAt) }) })
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`)
  await once(client, 'open')
  for (let i = 0; i < MESSAGES; i++) {
    client.send(JSON.stringify({ sentAt: now() }))
    await new Promise(resolve => setTimeout(resolve, GAP_MS))
  }
  await waitFor(() => latencies.length >= MESSAGES, 'baseline messages')
  client.close()
  server.close()
  return latencies
}

async function bench (): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'kotoba-bench-'))
  // The firehose client below publishes 200 a second: above the default per-client limit.
  const relay = await spawnRelay({ dataDir, args: ['--firehose-rate', '1000'] })
  const browser = await launchBrowser()
  const url = `${relay.httpUrl}?test-hooks&companion=off`
  try {
    // The relay at rest, past its start, before any tab.
    await new Promise(resolve => setTimeout(resolve, 3000))
    const idleRss = ((await (await fetch(`${relay.httpUrl}healthz`)).json()) as { memory: { rssBytes: number } }).memory.rssBytes

    // Joining, against a bare js-libp2p page on the same relay.
    await benchJoin(browser, relay)
    const pair = [await browser.open(url), await browser.open(url)]
    await markTime(pair[1], 'kotoba:first-webrtc')
    const [tabA, tabB] = pair

    // tab -> tab over the direct WebRTC connection
    await listenForLatencies(tabB, 'tt-')
    await publishFromTab(tabA, 'tt-')
    const tabToTab = await readLatencies(tabB, 'tt-', MESSAGES)

    // firehose -> relay -> tab
    const firehose = await openFirehose(relay.firehoseUrl)
    await listenForLatencies(tabA, 'ft-')
    for (let i = 0; i < MESSAGES; i++) {
      firehose.send({ topic: 'messages', body: messageSend({ from: 'user_bench', to: [], message: `ft-${i}`, metadata: { sentAt: now() } }) })
      await new Promise(resolve => setTimeout(resolve, GAP_MS))
    }
    const firehoseToTab = await readLatencies(tabA, 'ft-', MESSAGES)

    // tab -> relay -> firehose
    const tabToFirehose: number[] = []
    firehose.ws.on('message', (data) => {
      const payload = JSON.parse(data.toString())
      if (payload.params?.message?.startsWith('tf-') === true) tabToFirehose.push(now() - payload.params.metadata.sentAt)
    })
    await publishFromTab(tabA, 'tf-')
    await waitFor(() => tabToFirehose.length >= MESSAGES, 'tab messages on the firehose', 30_000)
    await firehose.close()

    // A companion coming alive: navigation to its card on the page, in fresh tabs.
    const born: number[] = []
    for (let i = 0; i < PAIRS; i++) {
      const page = await browser.open(`${relay.httpUrl}?companion=aya`)
      born.push(await markTime(page, 'kotoba:companion-born'))
      await page.close()
    }
    const alive = stats(born)

    // A room with a full history (the relay's default, 200 lines), opened by fresh tabs:
    // when are its lines on the page, from navigation and after reaching the relay?
    const room = 'bench-history'
    const filler = await openFirehose(`${relay.firehoseUrl}?room=${room}`)
    for (let i = 0; i < 200; i++) filler.send({ topic: 'messages', body: messageSend({ from: 'user_bench', to: [], message: `history line ${i} ${'x'.repeat(80)}` }) })
    await waitFor(async () => ((await (await fetch(`${relay.httpUrl}api/rooms/${room}/history?limit=1000`)).json()) as { entries: unknown[] }).entries.length >= 200, 'the history filled')
    await filler.close()
    const historyShown: number[] = []
    const historyAfterRelay: number[] = []
    for (let i = 0; i < PAIRS; i++) {
      const page = await browser.open(`${relay.httpUrl}?room=${room}&companion=aya`)
      const shown = await markTime(page, 'kotoba:history-shown')
      historyShown.push(shown)
      historyAfterRelay.push(Math.max(0, shown - await markTime(page, 'kotoba:relay-connected')))
      await page.close()
    }

    const baseline = stats(await baselineWs())
    console.log('\nkotoba bench (loopback, private network namespace)\n')
    console.log(`idle relay memory (RSS, /healthz)   ${(idleRss / 1e6).toFixed(1).padStart(6)} MB   target <= 100 MB  ${idleRss <= 100e6 ? 'ok' : 'OVER'}\n`)
    console.log('from navigation (median of', PAIRS, 'fresh tabs)')
    console.log(`  companion card shown    ${fmt(alive.median).padStart(11)}   max ${fmt(Math.max(...born))}   target < 1000 ms  ${alive.median < 1000 ? 'ok' : 'OVER'}`)
    const history = stats(historyShown)
    const historyAfter = stats(historyAfterRelay)
    console.log(`  room history shown      ${fmt(history.median).padStart(11)}   max ${fmt(Math.max(...historyShown))}   (200 lines)`)
    console.log(`    after relay connection ${fmt(historyAfter.median).padStart(10)}   max ${fmt(Math.max(...historyAfterRelay))}   target <= 1000 ms ${historyAfter.median <= 1000 ? 'ok' : 'OVER'}`)
    console.log(`\nmessage latency, one way (${MESSAGES} messages each, one every ${GAP_MS} ms)`)
    console.log('                          median        p99   x bare ws median   target median < 10 ms')
    for (const [name, values] of [['tab -> tab (WebRTC)', tabToTab], ['firehose -> tab', firehoseToTab], ['tab -> firehose', tabToFirehose]] as const) {
      const s = stats(values)
      console.log(`  ${name.padEnd(22)} ${fmt(s.median).padStart(9)} ${fmt(s.p99).padStart(10)}   ${(s.median / baseline.median).toFixed(1).padStart(8)}x          ${s.median < 10 ? 'ok' : 'OVER'}`)
    }
    console.log(`  ${'bare ws (baseline)'.padEnd(22)} ${fmt(baseline.median).padStart(9)} ${fmt(baseline.p99).padStart(10)}        1.0x`)
  } finally {
    await browser.close()
    await relay.kill()
    await rm(dataDir, { recursive: true, force: true })
  }
}

const only = process.argv[2]
if (only === 'page') {
  // The page's weight needs no network: no namespace.
  await benchPageWeight()
} else if (inPrivateNetns()) {
  // `npm run bench -- firehose` runs only the firehose fan-out; `-- p2p` only the tabs; `-- lan` only the LAN mesh; `-- scale` only companions on one relay (and one big room); `-- room` only one big room; `-- brain` only a model in the tab and headless (and a shared endpoint); `-- shared` only companions sharing one model endpoint; `-- page` only the page's weight; `-- variants DIR [DIR ...]` builds of the page against each other (bench/join-variants.ts).
  if (only === undefined) await benchPageWeight()
  if (only === undefined || only === 'p2p') await bench()
  if (only === undefined || only === 'firehose') await benchFirehoseFanout()
  if (only === undefined || only === 'lan') await benchLanMesh()
  if (only === undefined || only === 'scale') await benchScale()
  if (only === undefined || only === 'scale' || only === 'room') await benchOneRoom()
  if (only === undefined || only === 'brain') await benchBrain()
  if (only === 'shared') await benchSharedEndpoints()
  if (only === 'variants') {
    const browser = await launchBrowser()
    try {
      await benchVariants(browser, process.argv.slice(3))
    } finally {
      await browser.close()
    }
  }
} else {
  const vite = (...args: string[]): boolean => spawnSync(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn', ...args], { cwd: root, stdio: 'inherit' }).status === 0
  if (!vite()) process.exit(1)
  // The bare js-libp2p page the join figures are measured against (bench/join.ts).
  if ((only === undefined || only === 'p2p' || only === 'variants') && !vite('--config', join(root, 'bench/bare/vite.config.ts'))) process.exit(1)
  const result = runInPrivateNetns(join(root, 'bench/run.ts'), process.argv.slice(2))
  if ('unavailable' in result) {
    console.error(`bench: cannot create a network namespace (${result.unavailable}); the benchmark needs one.`)
    process.exit(1)
  }
  process.exit(result.status)
}
