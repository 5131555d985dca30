/**
 * Companions end to end: three companion tabs (built-in brains) in real
 * Chromium, a real relay process and a real firehose client. The client
 * says hello to all three; the conversation that follows is checked line by
 * line, then a tab is closed mid-conversation.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { launchBrowser, presentIds } from '../helpers/browser.ts'
import type { Browser } from '../helpers/browser.ts'
import { openFirehose } from '../helpers/firehose-client.ts'
import type { FirehoseClient } from '../helpers/firehose-client.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { spawnRelay } from '../helpers/relay-process.ts'
import type { RelayProcess } from '../helpers/relay-process.ts'
import { waitFor } from '../helpers/wait.ts'

const skip = networkSkipReason({ browser: true })
const TURN_LIMIT = 4
const USER = 'user_tester'

interface Line { id: string, from: string, to: string[], message: string, metadata?: { replyTo?: string, emotion?: string } }

const statusOf = async (page: Page): Promise<string | null> =>
  await page.getByTestId('companion-status').getAttribute('data-status')

const linesOf = (client: FirehoseClient, since: number): Line[] =>
  client.frames.slice(since)
    .filter((f: any) => f?.method === 'message.send')
    .map((f: any) => f.params as Line)

/** Every companion line answers the line before it: one conversation, one speaker per turn. */
function assertOneConversation (lines: Line[], story = ''): void {
  for (let i = 1; i < lines.length; i++) {
    assert.equal(lines[i].metadata?.replyTo, lines[i - 1].id, `line ${i} (${lines[i].from}) answers line ${i - 1}${story === '' ? '' : `: ${story}`}`)
  }
  const parents = lines.map(l => l.metadata?.replyTo).filter(id => id !== undefined)
  assert.equal(new Set(parents).size, parents.length, 'no line got two answers')
}

describe('companions converse: three tabs and a firehose client', { skip }, () => {
  let dataDir: string
  let relay: RelayProcess
  let browser: Browser
  let tabs: Page[]
  let ids: string[]
  let firehose: FirehoseClient

  const allResting = async (pages: Page[]): Promise<boolean> =>
    (await Promise.all(pages.map(statusOf))).every(s => s === 'resting')

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kotoba-relay-'))
    relay = await spawnRelay({ dataDir })
    browser = await launchBrowser()
    tabs = []
    for (const name of ['aya', 'ren', 'mio']) {
      tabs.push(await browser.open(`${relay.httpUrl}?companion=${name}&turn-limit=${TURN_LIMIT}&pace=150&vote-window=1500`))
    }
    ids = await Promise.all(tabs.map(async (tab) => {
      const id = tab.getByTestId('companion-id')
      await id.waitFor({ timeout: 15_000 })
      return (await id.textContent())!
    }))
    firehose = await openFirehose(relay.firehoseUrl)
  })

  after(async () => {
    await firehose?.close()
    await browser?.close()
    await relay?.kill()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('each tab is a companion with its own card, and sees the other two by their cards', async () => {
    assert.deepEqual(ids.map(id => id.replace(/_[0-9a-z]{4}$/, '')), ['companion_aya', 'companion_ren', 'companion_mio'])
    for (const [i, tab] of tabs.entries()) {
      await waitFor(async () => await tab.getByTestId('present-companion').count() === 2, `tab ${i} to list the other two companions`, 20_000)
      const listed = await tab.getByTestId('present-companion').evaluateAll(rows => rows.map(r => r.getAttribute('data-companion-id')))
      assert.deepEqual(listed.sort(), ids.filter(id => id !== ids[i]).sort())
    }
  })

  it('a hello from the firehose gets one conversation, one speaker at a time, that closes and rests', async () => {
    // Greetings among the tabs may be going on: let them finish, and the network fall quiet.
    const quiet = async (): Promise<boolean> => await allResting(tabs) && Date.now() - firehose.lastFrameAt() > 2000
    await waitFor(quiet, 'the greetings to finish', 60_000)
    const since = firehose.frames.length
    const hello: Line = { id: 'hello-e2e', from: USER, to: ids, message: 'Hello Aya, Ren and Mio! How was your day?' }
    firehose.send({ topic: 'messages', body: { jsonrpc: '2.0', method: 'message.send', params: hello } })
    // (The relay does not echo a client's own frame back to it.)
    await waitFor(async () => linesOf(firehose, since).length >= 2 && await quiet(), 'the conversation to end and rest', 90_000)

    const after = firehose.frames.slice(since) as any[]
    const story = (): string => JSON.stringify(after.map((f: any) => Array.isArray(f)
      ? ['decision', f.map((s: any) => [s.params.from, s.params.state, s.params.closing])]
      : [f.method, f.params?.from, f.params?.message ?? f.params?.state, f.params?.messageId ?? f.params?.metadata?.replyTo, f.params?.closing]))
    const replies = linesOf(firehose, since)
    assertOneConversation([hello, ...replies], story())
    assert.ok(replies.every(l => ids.includes(l.from)), 'only companions answered')
    assert.ok(replies.length <= TURN_LIMIT + 3, `${replies.length} lines for a turn limit of ${TURN_LIMIT}`)
    assert.ok(replies[0].to.includes(USER), 'the first answer addresses the person')
    assert.ok(replies.some(l => l.to.some(id => ids.includes(id))), 'companions address each other')
    assert.ok(new Set(replies.map(l => l.from)).size >= 2, 'more than one companion spoke')

    assert.ok(after.some(f => f?.method === 'action.send' && ids.includes(f.params.from)), 'actions arrived')
    const states = after.flatMap(f => Array.isArray(f) ? f : f?.method === 'state.send' ? [f] : [])
    assert.ok(states.some(s => s.params.closing === 'terminal'), `the closing walk reached terminal: ${story()}`)
    // The person's line is shown in every tab, with who said it.
    for (const tab of tabs) await tab.locator(`[data-testid=line][data-message-id=hello-e2e]`).waitFor({ timeout: 5000 })
  })

  it('closing a tab mid-conversation does not stall the others', async () => {
    const since = firehose.frames.length
    firehose.send({ topic: 'messages', body: { jsonrpc: '2.0', method: 'message.send', params: { id: 'hello-again', from: USER, to: ids, message: 'One more thing: what is your favourite food?' } } })
    await waitFor(() => linesOf(firehose, since).length >= 1, 'a first answer', 30_000)
    const closed = tabs.pop()!
    const closedId = ids.pop()!
    await closed.close()
    const closedAt = firehose.frames.length
    await waitFor(async () => await allResting(tabs), 'the two remaining companions to rest', 90_000)
    const lines = linesOf(firehose, since)
    assert.ok(!linesOf(firehose, closedAt).some(l => l.from === closedId), 'the closed tab said nothing more')
    assert.ok(lines.length <= TURN_LIMIT + 3, `${lines.length} lines`)
    assert.deepEqual(browser.consoleErrors, [])
  })

  it('an edited card reaches the other tab (identify push), is kept across reloads, and a bad edit is refused with a clear message', async () => {
    const [mine, other] = tabs
    await mine.getByTestId('edit-card').click()
    await mine.getByTestId('card-name').fill('   ')
    await mine.getByTestId('save-card').click()
    assert.match((await mine.getByTestId('card-error').textContent())!, /name/i)
    await mine.getByTestId('card-name').fill('Aya the Second')
    await mine.getByTestId('card-personality').fill('curious and patient')
    await mine.getByTestId('save-card').click()
    assert.equal(await mine.getByTestId('companion-name').textContent(), 'Aya the Second')
    assert.equal(await mine.getByTestId('companion-id').textContent(), ids[0], 'the id never changes')
    const listed = other.locator(`[data-testid=present-companion][data-companion-id="${ids[0]}"]`)
    await waitFor(async () => (await listed.textContent())?.includes('Aya the Second') === true, 'the other tab to show the new name', 5_000)
    assert.match((await listed.textContent())!, /curious and patient/)
  })

  it('a reload is the same companion with the same peer id; the tabs are different companions', async () => {
    const peerIdOf = async (tab: Page): Promise<string> => {
      await waitFor(async () => (await tab.getByTestId('peer-id').textContent())?.startsWith('12D3'), 'the peer id')
      return (await tab.getByTestId('peer-id').textContent())!
    }
    const peers = await Promise.all(tabs.map(peerIdOf))
    assert.equal(new Set(peers).size, tabs.length)
    await tabs[0].reload()
    await tabs[0].getByTestId('companion-id').waitFor({ timeout: 15_000 })
    assert.equal(await tabs[0].getByTestId('companion-id').textContent(), ids[0])
    assert.equal(await tabs[0].getByTestId('companion-name').textContent(), 'Aya the Second', 'the edited card is kept')
    assert.equal(await peerIdOf(tabs[0]), peers[0])
  })

  // Whichever of two tabs reloads (the smaller or the larger peer id, which
  // decides who dials), they find each other again although the other tab may
  // still hold the old page's WebRTC connection for a while.
  it('after each reload the tabs reconnect and exchange cards again', async () => {
    const seeEachOther = async (): Promise<boolean> =>
      (await Promise.all(tabs.map(async tab => await tab.getByTestId('present-companion').count() === tabs.length - 1))).every(Boolean)
    for (const which of [0, 1, 0, 1]) {
      await waitFor(seeEachOther, 'the tabs to see each other', 20_000).catch(async (err: Error) => {
        const info = await Promise.all(tabs.map(async (tab, i) => `tab ${i} ${await tab.getByTestId('peer-id').textContent()} present=${JSON.stringify(await presentIds(tab))} rows=${(await tab.locator('[data-testid=peer-row]').evaluateAll(els => els.map(e => `${e.getAttribute('data-kind')} ${e.textContent?.trim().slice(0, 60)}`))).join('; ')}`))
        throw new Error(`${err.message}\n${info.join('\n')}`)
      })
      await tabs[which].reload()
      await waitFor(seeEachOther, `the tabs to see each other again after tab ${which} reloaded`, 20_000)
      await waitFor(async () => await tabs[which].locator('[data-testid=peer-row][data-kind=webrtc]').count() > 0, `tab ${which} to have a direct WebRTC connection again`, 20_000)
        .catch(async (err: Error) => {
          // What each tab holds, to tell a dial that failed from one never made.
          const rows = await Promise.all(tabs.map(async (tab, i) => `tab ${i}: ${(await tab.locator('[data-testid=peer-row]').evaluateAll(els => els.map(e => `${e.getAttribute('data-kind')} ${e.textContent?.trim()}`))).join('; ')}`))
          throw new Error(`${err.message}\n${rows.join('\n')}`)
        })
    }
  })
})
