/**
 * A roomful: twelve real Chromium tabs in three rooms on one relay, each
 * allowed two direct links (`?max-links=2`) while three other tabs share its
 * room. Every tab holds at most two direct links, links only within its
 * room, and every line reaches every tab of its room (through the relay
 * where there is no link) and no tab outside it.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { launchBrowser } from '../helpers/browser.ts'
import type { Browser } from '../helpers/browser.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { spawnRelay } from '../helpers/relay-process.ts'
import type { RelayProcess } from '../helpers/relay-process.ts'
import { waitFor } from '../helpers/wait.ts'

const ROOMS = ['red', 'green', 'blue']
const PER_ROOM = 4
const MAX_LINKS = 2

interface Tab { page: Page, room: string, peerId: string }

/** The peer ids a tab holds a direct WebRTC connection to (from the network panel). */
const linksOf = async (page: Page): Promise<string[]> =>
  await page.locator('[data-testid=peer-row][data-kind=webrtc]').evaluateAll(rows => [...new Set(rows.map(r => r.getAttribute('data-peer-id') ?? ''))])

describe('a roomful: twelve tabs in three rooms, each with a bounded number of direct links', { skip: networkSkipReason({ browser: true }) }, () => {
  let dataDir: string
  let relay: RelayProcess
  let browser: Browser
  const tabs: Tab[] = []

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kotoba-roomful-'))
    relay = await spawnRelay({ dataDir })
    browser = await launchBrowser()
    for (const room of ROOMS) {
      for (let i = 0; i < PER_ROOM; i++) {
        const page = await browser.open(`${relay.httpUrl}?room=${room}&companion=off&test-hooks&max-links=${MAX_LINKS}`)
        const peerId = await waitFor(async () => await page.evaluate(() => window.kotobaTestHooks?.peerId), 'the tab\'s node', 20_000)
        // Every line the tab hears, by its message id.
        await page.evaluate(() => {
          const heard: string[] = []
          ;(window as unknown as { heard: string[] }).heard = heard
          window.kotobaTestHooks!.onPayload((d) => { if (d.topic === 'messages') heard.push(d.payload.params.id) })
        })
        tabs.push({ page, room, peerId })
      }
    }
  })

  after(async () => {
    await browser?.close()
    await relay?.kill()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('every tab links directly to companions of its room only, at most the bound', async () => {
    const byPeer = new Map(tabs.map(t => [t.peerId, t]))
    for (const tab of tabs) {
      try {
        await waitFor(async () => (await linksOf(tab.page)).length >= 1, `a tab in ${tab.room} to link to another`, 30_000)
      } catch (err) {
        // What each tab of the room knew and held, to tell a missing roster from refused links.
        const room = await Promise.all(tabs.filter(t => t.room === tab.room).map(async t => ({ peer: t.peerId.slice(-6), ...(await t.page.evaluate(() => window.kotobaTestHooks!.room())) })))
        throw new Error(`${(err as Error).message}: ${JSON.stringify(room.map(r => ({ peer: r.peer, known: r.known.map(p => p.slice(-6)), linked: r.linked.map(p => p.slice(-6)) })))}`)
      }
    }
    // Links settle: a newcomer dials from its roster; a full tab closes a link too many as soon as identify says what it is.
    for (const tab of tabs) {
      const links = await waitFor(async () => { const l = await linksOf(tab.page); return l.length <= MAX_LINKS ? l : undefined }, `a tab in ${tab.room} to hold at most ${MAX_LINKS} links`, 10_000)
      assert.ok(links.length <= MAX_LINKS, `a tab in ${tab.room} holds ${links.length} direct links`)
      for (const peer of links) assert.equal(byPeer.get(peer)?.room, tab.room, 'linked only within its room')
    }
    const health = await (await fetch(new URL('/healthz', relay.httpUrl))).json() as { rooms: { carried: Array<{ name: string }> } }
    assert.deepEqual(health.rooms.carried.map(r => r.name).sort(), ['blue', 'green', 'lobby', 'red'])
  })

  it('every line reaches every tab of its room and none outside it', async () => {
    for (const [i, tab] of tabs.entries()) {
      await tab.page.evaluate(async (id) => {
        await window.kotobaTestHooks!.publish('messages', { jsonrpc: '2.0', method: 'message.send', params: { id, from: 'user_roomful', to: [], message: `hello from ${id}` } })
      }, `line-${tab.room}-${i}`)
    }
    const heard = async (tab: Tab): Promise<string[]> => await tab.page.evaluate(() => (window as unknown as { heard: string[] }).heard)
    for (const tab of tabs) {
      const own = tabs.flatMap((t, i) => t.room === tab.room ? [`line-${t.room}-${i}`] : [])
      await waitFor(async () => {
        const h = await heard(tab)
        return own.every(id => h.includes(id))
      }, `every line of ${tab.room} in a tab of ${tab.room}`, 15_000)
    }
    // Every tab heard all of its room's lines; had a line of another room reached it, it would be here by now.
    for (const tab of tabs) {
      const lines = (await heard(tab)).filter(id => id.startsWith('line-'))
      assert.ok(lines.every(id => id.startsWith(`line-${tab.room}-`)), `a tab of ${tab.room} heard ${lines.join(', ')}`)
      assert.equal(new Set(lines).size, PER_ROOM, 'each line once')
    }
  })
})
