/**
 * `npm run bench -- variants DIR [DIR ...]`: builds of the page compared with
 * one another and with the bare js-libp2p page (bench/bare/), in one run. Each
 * DIR is a built page (a copy of `dist/`, made with `vite build` at some
 * commit or with some change); each is served by a relay of its own, the bare
 * page by a server of its own on the first relay. Round by round, each kind
 * in turn opens two tabs together, as `bench/join.ts` does, so every kind
 * meets the machine as it is then.
 *
 * A change worth a few per cent of the pair's relay connection is smaller
 * than the spread from run to run (docs/benchmarks.md), so builds are
 * compared here, in the same rounds, against the first DIR. For each kind
 * it prints the medians of the page's marks, the relay connection of the tab
 * opened first and of the tab opened second, and the ratios with their 95%
 * interval (the bootstrap over rounds, bench/stats.ts).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Browser } from '../test/helpers/browser.ts'
import { spawnRelay } from '../test/helpers/relay-process.ts'
import type { RelayProcess } from '../test/helpers/relay-process.ts'
import { markTime, marksOf, serveBarePage } from './join.ts'
import { medianRatioInterval, stats } from './stats.ts'
import { wholeFromEnv } from './env.ts'

const ROUNDS = wholeFromEnv('KOTOBA_VARIANT_ROUNDS', 30)
/** The marks both pages set, and those only ours sets (by their name after the prefix). */
const MARKS = ['script-start', 'identity', 'node-made', 'relay-connected']

interface Kind { name: string, url: string, prefix: string }
/** Per round, one record of marks per tab (the tab opened first, then the second). */
type Rounds = Array<Array<Record<string, number>>>

async function pairRound (browser: Browser, kind: Kind): Promise<Array<Record<string, number>>> {
  const pair = await Promise.all([browser.open(kind.url), browser.open(kind.url)])
  try {
    const marks: Array<Record<string, number>> = []
    for (const page of pair) {
      await markTime(page, `${kind.prefix}relay-connected`)
      const set = await marksOf(page, MARKS.map(name => kind.prefix + name))
      marks.push(Object.fromEntries(Object.entries(set).map(([name, time]) => [name.slice(kind.prefix.length), time])))
    }
    return marks
  } finally {
    for (const page of pair) await page.close()
  }
}

const median = (values: number[]): number => stats(values).median
const ms = (value: number): string => `${value.toFixed(0)} ms`
const relayTimes = (rounds: Rounds): number[][] => rounds.map(r => r.map(t => t['relay-connected']))
/** The ratio of the pair's median relay connections to `base`'s (named `baseName`), and its 95% interval. */
const ratio = (ours: Rounds, base: Rounds, baseName: string): string => {
  const { low, high } = medianRatioInterval(relayTimes(ours), relayTimes(base))
  return `${(median(relayTimes(ours).flat()) / median(relayTimes(base).flat())).toFixed(2)}x ${baseName} (${low.toFixed(2)}-${high.toFixed(2)}x)`
}

export async function benchVariants (browser: Browser, dirs: string[]): Promise<void> {
  if (dirs.length === 0) throw new Error('bench variants: name at least one built page (a copy of dist/), e.g. npm run bench -- variants /tmp/before dist')
  const roots = dirs.map(dir => resolve(dir))
  const relays: RelayProcess[] = []
  const dataDirs: string[] = []
  const bare = await serveBarePage(false)
  try {
    for (const root of roots) {
      const dataDir = await mkdtemp(join(tmpdir(), 'kotoba-variant-'))
      dataDirs.push(dataDir)
      const relay = await spawnRelay({ dataDir, args: ['--web-root', root] })
      relays.push(relay)
      // The relay serves this build, not another: its page is this folder's index.html.
      const served = await (await fetch(relay.httpUrl)).text()
      if (served !== await readFile(join(root, 'index.html'), 'utf8')) throw new Error(`the relay for ${root} does not serve its index.html`)
    }
    const relayAddr = `/ip4/127.0.0.1/tcp/${relays[0].wsPort}/ws/p2p/${relays[0].peerId}`
    const kinds: Kind[] = [
      ...roots.map((root, i) => ({ name: dirs[i], url: relays[i].httpUrl, prefix: 'kotoba:' })),
      { name: 'bare libp2p', url: `${bare.url}?relay=${encodeURIComponent(relayAddr)}`, prefix: 'bare:' }
    ]
    const rounds = kinds.map((): Rounds => [])
    for (let i = 0; i < ROUNDS; i++) {
      for (const [k, kind] of kinds.entries()) rounds[k].push(await pairRound(browser, kind))
    }
    const base = rounds[kinds.length - 1]
    console.log(`\nvariants: builds of the page against each other and a bare js-libp2p page, ${ROUNDS} rounds of two tabs opened together (from navigation; medians)`)
    for (const [k, kind] of kinds.entries()) {
      const all = rounds[k].flat()
      const marks = MARKS.filter(m => all.some(t => t[m] !== undefined)).map(m => `${m} ${ms(median(all.flatMap(t => t[m] ?? [])))}`).join(', ')
      const tabs = [0, 1].map(tab => ms(median(rounds[k].map(r => r[tab]['relay-connected'])))).join(' / ')
      const ratios = k === kinds.length - 1
        ? ''
        : `; ${ratio(rounds[k], base, 'bare')}` + (k === 0 ? '' : `, ${ratio(rounds[k], rounds[0], kinds[0].name)}`)
      console.log(`  ${kind.name}: ${marks}; relay connection of the tab opened first / second ${tabs}${ratios}`)
    }
  } finally {
    bare.server.close()
    for (const relay of relays) await relay.kill()
    for (const dir of dataDirs) await rm(dir, { recursive: true, force: true })
  }
}
