/**
 * Many relays, one conversation: three relay processes on three hosts of a
 * LAN of namespaces joined by a bridge, mDNS on, a Chromium tab and a
 * firehose client on each relay. Then one relay dies. Then two relays with
 * mDNS off that know each other only by `--bootstrap`.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { messageSend } from '../../protocol/build.ts'
import { launchBrowser } from '../helpers/browser.ts'
import type { Browser } from '../helpers/browser.ts'
import { openFirehose } from '../helpers/firehose-client.ts'
import type { FirehoseClient } from '../helpers/firehose-client.ts'
import { createLan, lanSkipReason } from '../helpers/lan.ts'
import type { Lan } from '../helpers/lan.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { spawnRelay } from '../helpers/relay-process.ts'
import type { RelayProcess } from '../helpers/relay-process.ts'
import { waitFor } from '../helpers/wait.ts'

const skip = networkSkipReason({ browser: true }) || lanSkipReason()
const NAMES = ['aya', 'ren', 'mio']

interface RelayInfo { peerId: string, neighbours: Array<{ peerId: string, multiaddrs: string[] }> }
const relayInfo = async (relay: RelayProcess): Promise<RelayInfo> =>
  await (await fetch(new URL('/api/relay', relay.httpUrl))).json() as RelayInfo

const statusOf = async (page: Page): Promise<string | null> =>
  await page.getByTestId('companion-status').getAttribute('data-status')

/** Message ids a firehose client received, in order (duplicates kept, to be counted). */
const messageIds = (client: FirehoseClient): string[] =>
  client.frames.filter((f: any) => f?.method === 'message.send').map((f: any) => f.params.id as string)

const say = async (tab: Page, text: string): Promise<void> => {
  await tab.getByTestId('message-input').fill(text)
  await tab.getByTestId('send-button').click()
}

describe('a LAN of three relays: one mesh, one conversation', { skip }, () => {
  let lan: Lan
  let dataDirs: string[]
  let relays: RelayProcess[]
  let browser: Browser
  let tabs: Page[]
  let firehoses: FirehoseClient[]
  let ids: string[]

  const quiet = async (pages: Page[], clients: FirehoseClient[]): Promise<boolean> =>
    (await Promise.all(pages.map(statusOf))).every(s => s === 'resting') &&
    clients.every(c => Date.now() - c.lastFrameAt() > 2000)

  before(async () => {
    lan = createLan()
    dataDirs = await Promise.all(NAMES.map(async () => await mkdtemp(join(tmpdir(), 'kotoba-mesh-'))))
    relays = await Promise.all(NAMES.map(async (name, i) =>
      await spawnRelay({ dataDir: dataDirs[i], lanHost: lan.addHost(`relay-${name}`), mdns: true })))
  })

  after(async () => {
    await Promise.all((firehoses ?? []).map(async c => { await c.close() }))
    await browser?.close()
    await Promise.all((relays ?? []).map(async r => await r.kill()))
    lan?.close()
    await Promise.all((dataDirs ?? []).map(async d => { await rm(d, { recursive: true, force: true }) }))
  })

  it('the relays find each other by mDNS within seconds and list each other as neighbours', async () => {
    const started = Date.now()
    await waitFor(async () => (await Promise.all(relays.map(relayInfo))).every(info => info.neighbours.length === 2),
      'every relay to list the other two as neighbours', 15_000)
    const infos = await Promise.all(relays.map(relayInfo))
    for (const [i, info] of infos.entries()) {
      assert.deepEqual(info.neighbours.map(n => n.peerId).sort(), relays.filter((_, j) => j !== i).map(r => r.peerId).sort())
      for (const n of info.neighbours) assert.match(n.multiaddrs[0], /^\/ip4\/10\.\d+\.0\.\d+\/tcp\/\d+\/ws\/p2p\//, 'a LAN WebSocket address first')
    }
    assert.ok(Date.now() - started < 15_000)
  })

  it('a tab on each relay: each sees the other two companions, across relays', async () => {
    browser = await launchBrowser()
    tabs = []
    for (const [i, name] of NAMES.entries()) {
      tabs.push(await browser.open(`${relays[i].httpUrl}?companion=${name}&turn-limit=4&pace=150&vote-window=1500`))
    }
    firehoses = await Promise.all(relays.map(async r => await openFirehose(r.firehoseUrl)))
    ids = await Promise.all(tabs.map(async (tab) => {
      const id = tab.getByTestId('companion-id')
      await id.waitFor({ timeout: 15_000 })
      return (await id.textContent())!
    }))
    for (const [i, tab] of tabs.entries()) {
      await tab.locator('[data-testid=relay-info]').and(tab.locator('[data-known="3"]')).waitFor({ timeout: 15_000 })
      assert.equal(await tab.getByTestId('relay-info').getAttribute('data-relay'), relays[i].peerId, `tab ${i} holds the relay that served it`)
      await waitFor(async () => await tab.getByTestId('present-companion').count() === 2, `tab ${i} to list the other two companions`, 30_000)
    }
  })

  it('a conversation among the three tabs is seen complete, and exactly once, by the firehose client of every relay', async () => {
    await waitFor(async () => await quiet(tabs, firehoses), 'the greetings to finish', 90_000)
    const since = firehoses.map(c => messageIds(c).length)
    await say(tabs[0], 'Hello everyone, on every floor!')
    await waitFor(async () => messageIds(firehoses[0]).length - since[0] >= 3 && await quiet(tabs, firehoses), 'the conversation to end and rest', 120_000)

    const seen = firehoses.map((c, i) => messageIds(c).slice(since[i]))
    const all = [...new Set(seen.flat())]
    for (const [i, ids] of seen.entries()) {
      assert.equal(new Set(ids).size, ids.length, `relay ${i}'s firehose got no message twice`)
      assert.deepEqual([...ids].sort(), [...all].sort(), `relay ${i}'s firehose got every message`)
    }
    const speakers = new Set(firehoses[0].frames.filter((f: any) => f?.method === 'message.send' && all.includes(f.params.id)).map((f: any) => f.params.from as string))
    assert.ok([...speakers].filter(s => ids.includes(s)).length >= 2, `companions on different relays spoke: ${[...speakers].join(', ')}`)
    for (const tab of tabs) {
      for (const id of all) await tab.locator(`[data-testid=line][data-message-id="${id}"]`).waitFor({ timeout: 5000 })
    }
  })

  it('one relay dies: the others go on, and its tab moves to another relay and goes on too', async () => {
    const dead = relays[2]
    await dead.kill('SIGKILL')
    const orphan = tabs[2]
    await waitFor(async () => {
      const now = await orphan.getByTestId('relay-info').getAttribute('data-relay')
      return now !== dead.peerId && relays.slice(0, 2).some(r => r.peerId === now)
    }, 'the orphaned tab to hold another relay', 30_000)
    await orphan.locator('[data-testid=relay-status][data-status=reserved]').waitFor({ timeout: 20_000 })

    const living = firehoses.slice(0, 2)
    await waitFor(async () => await quiet(tabs, living), 'the network to fall quiet', 90_000)
    const since = living.map(c => messageIds(c).length)
    await say(orphan, 'Still here, through another relay.')
    await waitFor(async () => living.every((c, i) => messageIds(c).length - since[i] >= 2) && await quiet(tabs, living), 'the companions to answer the moved tab', 120_000)
    for (const [i, c] of living.entries()) {
      const got = messageIds(c).slice(since[i])
      assert.equal(new Set(got).size, got.length, `relay ${i}'s firehose got no message twice`)
    }
    // The firehose of a living relay reaches the moved tab.
    living[1].send({ topic: 'messages', body: messageSend({ from: 'user_floor2', to: [], message: 'Can the moved tab hear me?' }) })
    await orphan.locator('[data-testid=line]', { hasText: 'Can the moved tab hear me?' }).waitFor({ timeout: 10_000 })
    assert.deepEqual(browser.consoleErrors.filter(e => !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e)), [])
  })
})

describe('two relays with mDNS off, joined by --bootstrap only', { skip }, () => {
  let lan: Lan
  const dataDirs: string[] = []
  const relays: RelayProcess[] = []

  after(async () => {
    await Promise.all(relays.map(async r => await r.kill()))
    lan?.close()
    await Promise.all(dataDirs.map(async d => { await rm(d, { recursive: true, force: true }) }))
  })

  it('connect, carry gossip both ways, list each other as neighbours, and reconnect after a restart', async () => {
    lan = createLan()
    const hostA = lan.addHost('relay-a')
    const hostB = lan.addHost('relay-b')
    dataDirs.push(await mkdtemp(join(tmpdir(), 'kotoba-boot-')), await mkdtemp(join(tmpdir(), 'kotoba-boot-')))
    let a = await spawnRelay({ dataDir: dataDirs[0], lanHost: hostA, tcpPort: 4702 })
    relays.push(a)
    const bootstrap = `/ip4/${hostA.ip}/tcp/4702/p2p/${a.peerId}`
    const b = await spawnRelay({ dataDir: dataDirs[1], lanHost: hostB, args: ['--bootstrap', bootstrap] })
    relays.push(b)

    const flows = async (from: RelayProcess, to: RelayProcess, text: string): Promise<void> => {
      const sender = await openFirehose(from.firehoseUrl)
      const receiver = await openFirehose(to.firehoseUrl)
      try {
        // Until the two have exchanged subscriptions a publish reaches nobody: repeat it.
        await waitFor(async () => {
          sender.send({ topic: 'messages', body: messageSend({ from: 'user_boot', to: [], message: text }) })
          await new Promise(resolve => setTimeout(resolve, 200))
          return receiver.frames.some((f: any) => f?.params?.message === text)
        }, `${text} from ${from.peerId} to ${to.peerId}`, 15_000)
      } finally {
        await sender.close()
        await receiver.close()
      }
    }
    await waitFor(async () => (await relayInfo(b)).neighbours.some(n => n.peerId === a.peerId), 'B to list A as its neighbour', 15_000)
    await waitFor(async () => (await relayInfo(a)).neighbours.some(n => n.peerId === b.peerId), 'A to list B as its neighbour', 15_000)
    await flows(a, b, 'from A over the bootstrap link')
    await flows(b, a, 'from B over the bootstrap link')

    await a.kill()
    a = await spawnRelay({ dataDir: dataDirs[0], lanHost: hostA, tcpPort: 4702 })
    relays.push(a)
    await waitFor(async () => (await relayInfo(b)).neighbours.some(n => n.peerId === a.peerId), 'B to re-dial A after its restart', 30_000)
    await flows(b, a, 'after the restart')
    assert.match(b.output(), /mdns\s+off/)
  })
})
