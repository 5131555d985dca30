/**
 * History end to end, with a real relay process, real firehose clients and
 * real Chromium tabs: the relay keeps each room's lines in its data dir
 * (across a restart), serves them paged, a tab that opens late shows them
 * (marked as earlier) and gives them to its companion as context, a reload
 * shows this browser's transcript at once even when the relay cannot be
 * reached, no line shows twice, and the conversation downloads as Markdown
 * and JSON.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { messageSend } from '../../protocol/build.ts'
import { launchBrowser } from '../helpers/browser.ts'
import type { Browser } from '../helpers/browser.ts'
import { openFirehose } from '../helpers/firehose-client.ts'
import { spawnHeadless } from '../helpers/headless-process.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { freePort } from '../helpers/ports.ts'
import { spawnRelay } from '../helpers/relay-process.ts'
import type { RelayProcess } from '../helpers/relay-process.ts'
import { waitFor } from '../helpers/wait.ts'

const root = join(import.meta.dirname, '..', '..')
const ROOM = 'history-room'
const SAID = ['hist-1', 'hist-2', 'hist-3']

interface HistoryAnswer { room: string, entries: Array<{ seq: number, kind: string, line: string | null, payload: any }>, more: boolean, next: number | null }

describe('a room\'s history: kept by the relay, shown to whoever comes later', { skip: networkSkipReason({ browser: true }) }, () => {
  let dataDir: string
  let relay: RelayProcess
  let ports: { port: number, wsPort: number, tcpPort: number }
  let browser: Browser
  const historyOf = async (query = ''): Promise<Response> => await fetch(new URL(`/api/rooms/${ROOM}/history${query}`, relay.httpUrl))
  const lineIds = async (tab: Page): Promise<string[]> =>
    await tab.getByTestId('line').evaluateAll(rows => rows.map(r => r.getAttribute('data-message-id') ?? ''))
  const earlierIds = async (tab: Page): Promise<string[]> =>
    await tab.locator('[data-testid=line][data-earlier=true]').evaluateAll(rows => rows.map(r => r.getAttribute('data-message-id') ?? ''))

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kotoba-history-e2e-'))
    ports = { port: await freePort(), wsPort: await freePort(), tcpPort: await freePort() }
    relay = await spawnRelay({ dataDir, ...ports })
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
    await relay?.kill()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('the relay keeps what is said in a room, pages it with a since cursor, and refuses bad requests', async () => {
    const client = await openFirehose(`${relay.firehoseUrl}?room=${ROOM}`)
    for (const [i, id] of SAID.entries()) {
      client.send({ topic: 'messages', body: messageSend({ id, from: 'user_early', to: [], message: `line ${i + 1} from before`, metadata: { name: 'Early Bird' } }) })
    }
    client.send({ topic: 'actions', body: { jsonrpc: '2.0', method: 'action.send', params: { from: 'user_early', name: 'gesture', params: { gesture: 'wave' } } } })
    await waitFor(async () => ((await (await historyOf()).json()) as HistoryAnswer).entries.length === 4, 'the lines and the action in the history')
    await client.close()

    const all = await (await historyOf()).json() as HistoryAnswer
    assert.equal(all.room, ROOM)
    assert.deepEqual(all.entries.map(e => [e.kind, e.line]), [['line', 'hist-1'], ['line', 'hist-2'], ['line', 'hist-3'], ['action', 'hist-3']])
    assert.equal(all.entries[0].payload.params.message, 'line 1 from before')
    const first = await (await historyOf('?limit=2')).json() as HistoryAnswer
    assert.deepEqual(first.entries.map(e => e.line), ['hist-1', 'hist-2'])
    assert.equal(first.more, true)
    const rest = await (await historyOf(`?since=${first.next}&limit=2`)).json() as HistoryAnswer
    assert.deepEqual(rest.entries.map(e => e.kind), ['line', 'action'])
    assert.equal(rest.more, false)
    const other = await (await fetch(new URL('/api/rooms/elsewhere/history', relay.httpUrl))).json() as HistoryAnswer
    assert.deepEqual(other.entries, [], 'another room has its own history')

    for (const [path, pattern] of [
      ['/api/rooms/no%20way/history', /a room name has 1 to 64 characters/],
      [`/api/rooms/${ROOM}/history?since=-1`, /since must be a whole number/],
      [`/api/rooms/${ROOM}/history?limit=5000`, /limit must be a whole number from 0 to 1000/]
    ] as const) {
      const response = await fetch(new URL(path, relay.httpUrl))
      assert.equal(response.status, 400, path)
      assert.match(((await response.json()) as { error: { message: string } }).error.message, pattern)
    }
  })

  it('a relay restart loses none of it', async () => {
    const before = await (await historyOf()).json() as HistoryAnswer
    assert.equal(await relay.kill(), 0)
    relay = await spawnRelay({ dataDir, ...ports })
    assert.deepEqual(await (await historyOf()).json(), before)
  })

  it('a tab that opens later shows the lines, marked as earlier, and its companion gets them as context', async () => {
    const tab = await browser.open(`${relay.httpUrl}?room=${ROOM}&companion=aya&test-hooks`)
    await waitFor(async () => JSON.stringify(await earlierIds(tab)) === JSON.stringify(SAID), 'the earlier lines on the page', 10_000)
    await tab.getByTestId('earlier-divider').waitFor()
    assert.equal(await tab.locator('[data-testid=line][data-message-id=hist-1] [data-testid=line-speaker]').textContent(), 'Early Bird')
    await tab.getByTestId('companion-id').waitFor({ timeout: 15_000 })
    await waitFor(async () => {
      const context = await tab.evaluate(() => window.kotobaTestHooks?.contextLines() ?? [])
      return SAID.every(id => context.includes(id))
    }, 'the companion to hold the earlier lines as context')
    await tab.close()
  })

  it('a headless companion that comes later takes the lines as context, asked of the relay over libp2p', async () => {
    const headless = await spawnHeadless(['--card', join(root, 'docs', 'cards', 'kyoko.json'), '--room', ROOM, '--host', '127.0.0.1', '--no-mdns',
      '--bootstrap', `/ip4/127.0.0.1/tcp/${ports.tcpPort}/p2p/${relay.peerId}`, '--data-dir', join(dataDir, 'kyoko')])
    try {
      await waitFor(() => /! (\d+) earlier lines of room history-room taken as context/.exec(headless.output())?.[1] === String(SAID.length), `the earlier lines taken; it printed:\n${headless.output()}`, 15_000)
    } finally {
      await headless.kill()
    }
  })

  it('a reload shows the browser\'s transcript at once, also when the relay cannot be reached, and no line twice', async () => {
    const tab = await browser.open(`${relay.httpUrl}?room=${ROOM}&companion=ren`)
    await waitFor(async () => (await earlierIds(tab)).length === SAID.length, 'the earlier lines')
    // A live line, said while this tab is open: it goes into this browser's transcript.
    const client = await openFirehose(`${relay.firehoseUrl}?room=${ROOM}`)
    // (Said again until the tab, still joining the room, hears it: the page shows one line per id.)
    const live = tab.locator('[data-testid=line][data-message-id=live-1]')
    await waitFor(async () => {
      client.send({ topic: 'messages', body: messageSend({ id: 'live-1', from: 'user_late', to: [], message: 'said while the tab was open' }) })
      return await live.count() === 1
    }, 'the live line in the tab', 15_000, 500)
    await client.close()

    // The relay's API out of reach: what shows comes from this browser alone.
    await tab.route('**/api/**', async route => { await route.abort() })
    await tab.reload()
    await waitFor(async () => JSON.stringify(await earlierIds(tab)) === JSON.stringify([...SAID, 'live-1']), 'the stored transcript after the reload', 5000)
    await tab.unroute('**/api/**')

    // With the relay back, its history and the stored transcript meet: each line once.
    await tab.reload()
    await waitFor(async () => (await earlierIds(tab)).length === SAID.length + 1, 'the lines after a reload with the relay')
    await tab.waitForFunction((name) => performance.getEntriesByName(name).length > 0, 'kotoba:history-shown')
    const ids = await lineIds(tab)
    assert.deepEqual(ids.filter(id => [...SAID, 'live-1'].includes(id)), [...SAID, 'live-1'], 'every line once, in order')
    await tab.close()
  })

  it('the conversation downloads as Markdown and as JSON', async () => {
    const tab = await browser.open(`${relay.httpUrl}?room=${ROOM}&companion=mio`)
    await waitFor(async () => (await earlierIds(tab)).length >= SAID.length, 'the earlier lines')
    const save = async (testId: string): Promise<{ name: string, text: string }> => {
      const [download] = await Promise.all([tab.waitForEvent('download'), tab.getByTestId(testId).click()])
      const path = await download.path()
      return { name: download.suggestedFilename(), text: await readFile(path, 'utf8') }
    }
    const md = await save('download-md')
    assert.match(md.name, new RegExp(`^kotoba-${ROOM}-\\d{4}-\\d{2}-\\d{2}\\.md$`))
    assert.match(md.text, new RegExp(`^# kotoba, room ${ROOM}`))
    assert.match(md.text, /- \*\*Early Bird\*\*, \S+: line 1 from before/)
    const json = await save('download-json')
    assert.match(json.name, /\.json$/)
    const parsed = JSON.parse(json.text) as { room: string, lines: Array<{ id: string, fromName: string, text: string }> }
    assert.equal(parsed.room, ROOM)
    assert.deepEqual(parsed.lines.slice(0, 3).map(l => [l.id, l.fromName]), SAID.map(id => [id, 'Early Bird']))
    await tab.close()
  })
})
