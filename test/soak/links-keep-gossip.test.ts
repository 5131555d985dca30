/**
 * Links that keep gossip, over time: four companion tabs (built-in brains)
 * converse for five minutes, a person's line to all of them every 30 s from
 * the firehose. Once the room has formed, no direct link between them
 * closes (none is closed to renew GossipSub's streams), and no companion
 * leaves another's presence and comes back, so none is ever greeted twice.
 *
 * A soak: `npm test` runs it after the other tests (beside them, its four
 * tabs' load made timing-sensitive tests flaky). `KOTOBA_SOAK_MS` shortens
 * it while working on it.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { messageSend } from '../../protocol/build.ts'
import { companionIdOf, launchBrowser, presentIds } from '../helpers/browser.ts'
import type { Browser } from '../helpers/browser.ts'
import { openFirehose } from '../helpers/firehose-client.ts'
import type { FirehoseClient } from '../helpers/firehose-client.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { spawnRelay } from '../helpers/relay-process.ts'
import type { RelayProcess } from '../helpers/relay-process.ts'
import { waitFor } from '../helpers/wait.ts'

const skip = networkSkipReason({ browser: true })
const SOAK_MS = Number(process.env.KOTOBA_SOAK_MS ?? 5 * 60_000)
const LINE_EVERY_MS = 30_000
const NAMES = ['aya', 'ren', 'mio', 'kyoko']

const hooks = async <T>(tab: Page, read: string): Promise<T> =>
  await tab.evaluate(`window.kotobaTestHooks.${read}()`) as T

describe('links that keep gossip: four tabs converse for five minutes', { skip }, () => {
  let dataDir: string
  let relay: RelayProcess
  let browser: Browser
  let firehose: FirehoseClient

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kotoba-soak-'))
    relay = await spawnRelay({ dataDir })
    browser = await launchBrowser()
    firehose = await openFirehose(relay.firehoseUrl)
  })
  after(async () => {
    await firehose?.close()
    await browser?.close()
    await relay?.kill()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('no direct link closes, and no companion leaves another\'s presence and comes back (none is greeted twice)', async () => {
    const tabs: Page[] = []
    /** What the tabs said of their links (why one closed), for a failure to show. */
    const said: string[] = []
    for (const name of NAMES) {
      const tab = await browser.open(`${relay.httpUrl}?companion=${name}&test-hooks`)
      tab.on('console', (m) => { if (m.text().startsWith('kotoba: ')) said.push(`${new Date().toISOString()} ${name}: ${m.text()}`) })
      tabs.push(tab)
    }
    const ids = await Promise.all(tabs.map(companionIdOf))
    for (const [i, tab] of tabs.entries()) {
      const others = ids.filter(id => id !== ids[i]).sort()
      await waitFor(async () => JSON.stringify(await presentIds(tab)) === JSON.stringify(others), `tab ${i} to list the other three`, 30_000)
      await waitFor(async () => (await hooks<{ linked: string[] }>(tab, 'room')).linked.length === 3, `tab ${i} to link directly to the other three`, 30_000)
        .catch(async (err: Error) => { throw new Error(`${err.message}: ${JSON.stringify(await hooks(tab, 'room'))}`) })
    }
    // Settled: duplicate links (two tabs dialling each other at once) are closed within seconds.
    await new Promise(resolve => setTimeout(resolve, 6000))
    const closedBefore = await Promise.all(tabs.map(async tab => (await hooks<unknown[]>(tab, 'directClosed')).length))
    const arrivalsBefore = await Promise.all(tabs.map(async tab => await hooks<Record<string, number>>(tab, 'arrivals')))
    const linesBefore = firehose.frames.length

    const end = Date.now() + SOAK_MS
    for (let n = 0; Date.now() < end; n++) {
      firehose.send({ topic: 'messages', body: messageSend({ from: 'user_soak', to: ids, message: `A question for all of you, number ${n + 1}: what did you notice today?` }) })
      await new Promise(resolve => setTimeout(resolve, Math.min(LINE_EVERY_MS, Math.max(0, end - Date.now()))))
    }

    const spoken = firehose.frames.slice(linesBefore).filter((f: any) => f?.method === 'message.send' && ids.includes(f.params.from)).length
    assert.ok(spoken >= SOAK_MS / LINE_EVERY_MS, `the companions conversed: ${spoken} lines`)
    for (const [i, tab] of tabs.entries()) {
      const closed = (await hooks<Array<{ addr: string }>>(tab, 'directClosed')).slice(closedBefore[i]).filter(c => !c.addr.startsWith('LIMITED'))
      assert.deepEqual(closed, [], `tab ${i} (${await tab.evaluate('window.kotobaTestHooks.peerId') as string}): no direct link closed during the conversation; the relay said ${relay.output().split('\n').filter(l => l.includes('gossip')).join(' / ')}; the tabs said ${said.join('\n')}; the tab's errors: ${browser.consoleErrors.slice(-20).join(' / ')}`)
      const arrivals = await hooks<Record<string, number>>(tab, 'arrivals')
      for (const id of ids.filter(id => id !== ids[i])) {
        assert.equal(arrivals[id], arrivalsBefore[i][id], `tab ${i}: ${id} never left and came back (arrived ${arrivals[id]} times in all)`)
      }
    }
    const brokenPeerings = relay.output().split('\n').filter(l => l.includes('could not be opened again'))
    assert.deepEqual(brokenPeerings, [], 'the relay closed no peering to renew its gossip')
  })
})
