/**
 * How fast a tab joins, against a bare js-libp2p page (bench/bare/) on the
 * same relay in the same run. ROUNDS rounds, each of the companion page then
 * the bare page (so both see the machine as it is then): two tabs opened
 * together (each one's relay connection, and the second one's first direct
 * WebRTC link), then a third tab joining them, opened alone (its first
 * direct WebRTC link, and its relay connection). The line's relay
 * connection is the pair's: two tabs starting at once on two cores. Every
 * figure is from the tab's navigation (performance marks); medians, with
 * the raw spread beside, and the ratio to the bare page.
 * A third kind, the same bare page served cross-origin isolated (COOP +
 * COEP, as the relay serves ours to a browser that runs a model in the tab,
 * for its threads), tells what that isolation costs: the browser gives such
 * a page a process of its own, in a new browsing context group.
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, normalize } from 'node:path'
import type { Page } from 'playwright-core'
import { ISOLATION_HEADERS } from '../relay/http-server.ts'
import type { Browser } from '../test/helpers/browser.ts'
import type { RelayProcess } from '../test/helpers/relay-process.ts'
import { waitFor } from '../test/helpers/wait.ts'
import { medianRatioInterval, stats } from './stats.ts'
import { wholeFromEnv } from './env.ts'

const BARE_DIST = join(import.meta.dirname, '.bare-dist')
/**
 * Rounds of each kind. The pair's figure is the median of both its tabs, and the tab opened first
 * reaches the relay 40-60 ms after the second (either page): the median falls between the two,
 * where few figures lie. With 16 rounds it moved between 1.01x and 1.21x bare from run to run of
 * the same build; with 30, between 1.05x and 1.13x (docs/benchmarks.md).
 */
const ROUNDS = wholeFromEnv('KOTOBA_JOIN_ROUNDS', 40)

/** Serves the built bare page (its own origin: it needs nothing of the relay's HTTP); `isolated`: with the relay's cross-origin isolation headers. */
export async function serveBarePage (isolated: boolean): Promise<{ url: string, server: Server }> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' }
  const server = createServer((req, res) => {
    const path = normalize(new URL(req.url ?? '/', 'http://bare').pathname) // from the root, never above it
    const file = join(BARE_DIST, path === '/' ? 'index.html' : path)
    stat(file).then((s) => {
      if (!s.isFile()) throw new Error('not a file')
      res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream', ...(isolated ? ISOLATION_HEADERS : {}) })
      createReadStream(file).pipe(res)
    }, () => { res.writeHead(404).end() })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server }
}

export async function markTime (page: Page, name: string): Promise<number> {
  return await waitFor(async () => await page.evaluate((n) => performance.getEntriesByName(n)[0]?.startTime, name), `mark ${name}`, 30_000)
}

interface Kind { name: string, url: string, marks: { relay: string, webrtc: string }, trace: string[] }
/**
 * Each figure by round (one group per round: what the bootstrap resamples). relay: each of two
 * tabs opened together; relayAlone: the third tab, opened alone; pair, joining: first direct WebRTC.
 */
interface Samples { relay: number[][], relayAlone: number[][], pair: number[][], joining: number[][], trace: Map<string, number[]> }

/** The times of the marks `names` the tab has set so far, by name (those not set are left out). */
export async function marksOf (page: Page, names: string[]): Promise<Record<string, number>> {
  return await page.evaluate((wanted) => Object.fromEntries(wanted.flatMap((name) => {
    const time = performance.getEntriesByName(name)[0]?.startTime
    return time === undefined ? [] : [[name, time]]
  })), names)
}

/** The tab's way up so far, mark by mark (those it set). */
async function traceOf (page: Page, marks: string[], into: Map<string, number[]>): Promise<void> {
  for (const [mark, time] of Object.entries(await marksOf(page, marks))) into.set(mark, [...into.get(mark) ?? [], time])
}

/** One round of a kind: two tabs together, then a third joining them. */
async function round (browser: Browser, kind: Kind, into: Samples): Promise<void> {
  const pair = await Promise.all([browser.open(kind.url), browser.open(kind.url)])
  try {
    into.relay.push([await markTime(pair[0], kind.marks.relay), await markTime(pair[1], kind.marks.relay)])
    into.pair.push([Math.max(...await Promise.all(pair.map(async page => await markTime(page, kind.marks.webrtc))))])
    await traceOf(pair[0], kind.trace, into.trace)
    const third = await browser.open(kind.url)
    try {
      into.joining.push([await markTime(third, kind.marks.webrtc)])
      into.relayAlone.push([await markTime(third, kind.marks.relay)])
    } finally {
      await third.close()
    }
  } finally {
    for (const page of pair) await page.close()
  }
}

const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`
const spread = (groups: number[][]): string => `${s(Math.min(...groups.flat()))}-${s(Math.max(...groups.flat()))}`

export async function benchJoin (browser: Browser, relay: RelayProcess): Promise<void> {
  const bare = await serveBarePage(false)
  const bareIsolated = await serveBarePage(true)
  const relayAddr = `/ip4/127.0.0.1/tcp/${relay.wsPort}/ws/p2p/${relay.peerId}`
  const bareMarks = { relay: 'bare:relay-connected', webrtc: 'bare:first-webrtc' }
  const bareTrace = ['bare:script-start', 'bare:node-made', 'bare:relay-connected', 'bare:first-webrtc']
  const kinds: Kind[] = [
    { name: 'kotoba page', url: relay.httpUrl, marks: { relay: 'kotoba:relay-connected', webrtc: 'kotoba:first-webrtc' }, trace: ['kotoba:script-start', 'kotoba:identity', 'kotoba:relay-info', 'kotoba:node-made', 'kotoba:relay-connected', 'kotoba:first-webrtc', 'kotoba:companion-born'] },
    { name: 'bare libp2p', url: `${bare.url}?relay=${encodeURIComponent(relayAddr)}`, marks: bareMarks, trace: bareTrace },
    { name: 'bare, isolated', url: `${bareIsolated.url}?relay=${encodeURIComponent(relayAddr)}`, marks: bareMarks, trace: bareTrace }
  ]
  const samples = kinds.map((): Samples => ({ relay: [], relayAlone: [], pair: [], joining: [], trace: new Map() }))
  try {
    for (let i = 0; i < ROUNDS; i++) {
      for (const [k, kind] of kinds.entries()) await round(browser, kind, samples[k])
    }
  } finally {
    bare.server.close()
    bareIsolated.server.close()
  }
  const median = (groups: number[][]): number => stats(groups.flat()).median
  const [ours, base, isolatedBase] = samples.map(x => ({ relay: median(x.relay), relayAlone: median(x.relayAlone), pair: median(x.pair), joining: median(x.joining) }))
  console.log(`\njoin: the companion page and a bare js-libp2p page on the same relay, ${ROUNDS} rounds of each, interleaved (from navigation; medians, range)`)
  // Ours against bare; the isolated bare page against the bare one (what isolation costs).
  console.log('                              kotoba page                vs bare libp2p                      bare, isolated: vs bare libp2p')
  for (const [label, key] of [['relay connection', 'relay'], ['  a tab opened alone', 'relayAlone'], ['first WebRTC, two tabs', 'pair'], ['first WebRTC, a third tab', 'joining']] as const) {
    const figure = (k: number, ratio: number): string => `${s(median(samples[k][key]))} (${spread(samples[k][key])})   ${ratio.toFixed(2)}x`.padEnd(34)
    console.log(`  ${label.padEnd(26)}  ${`${s(ours[key])} (${spread(samples[0][key])})`.padEnd(25)}  ${figure(1, ours[key] / base[key])}  ${figure(2, isolatedBase[key] / base[key])}`)
  }
  for (const [k, kind] of kinds.entries()) {
    const raw = (values: number[][]): string => values.flat().sort((a, b) => a - b).map(v => (v / 1000).toFixed(2)).join(' ')
    console.log(`  raw, ${kind.name}: relay ${raw(samples[k].relay)}; alone ${raw(samples[k].relayAlone)}; two tabs ${raw(samples[k].pair)}; a third ${raw(samples[k].joining)}`)
  }
  console.log(`join: relay connection ${(ours.relay / 1000).toFixed(2)} s = ${(ours.relay / base.relay).toFixed(2)}x bare libp2p; first direct WebRTC ${(ours.pair / 1000).toFixed(2)} s = ${(ours.pair / base.pair).toFixed(2)}x bare libp2p`)
  // How sure each ratio is: rounds differ (the machine's other work), and a ratio of medians
  // over the rounds moves by several per cent from one run to the next.
  const interval = (key: keyof typeof ours): string => {
    const { low, high } = medianRatioInterval(samples[0][key], samples[1][key])
    return `${low.toFixed(2)}-${high.toFixed(2)}x`
  }
  console.log(`  95% intervals of those ratios (bootstrap over the ${ROUNDS} rounds): relay connection ${interval('relay')}; first direct WebRTC ${interval('pair')}; a tab opened alone ${interval('relayAlone')}; a third tab's first WebRTC ${interval('joining')}`)
  for (const [k, kind] of kinds.entries()) {
    console.log(`  trace, ${kind.name} (first tab of a pair; medians from navigation): ${[...samples[k].trace].map(([mark, times]) => `${mark.replace(/^\w+:/, '')} ${s(stats(times).median)}`).join(', ')}`)
  }
  console.log(`join: a tab joining a room of tabs: first direct WebRTC ${(ours.joining / 1000).toFixed(2)} s = ${(ours.joining / base.joining).toFixed(2)}x bare libp2p; its relay connection (a tab opened alone) ${(ours.relayAlone / 1000).toFixed(2)} s = ${(ours.relayAlone / base.relayAlone).toFixed(2)}x bare libp2p`)
  console.log(`join: cross-origin isolation (the relay's page for a browser with a model in the tab) costs the bare page: relay connection ${(isolatedBase.relay / base.relay).toFixed(2)}x, first direct WebRTC ${(isolatedBase.pair / base.pair).toFixed(2)}x`)
}
