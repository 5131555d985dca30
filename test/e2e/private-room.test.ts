/**
 * A private room end to end, over one relay process: a person makes it in
 * the page with a passphrase, a second tab comes in by its share link and a
 * headless companion by its key file; they converse, while the relay, its
 * history and a firehose client without the key see ciphertext only and the
 * relay lists no such room. A tab that comes later with a wrong passphrase
 * is told its key opens nothing, then with the right one reads the room's
 * history; the documented firehose client (docs/examples/private-room.mjs)
 * reads and speaks with the key; and the members, not the relay, drop a
 * sealed line that speaks as a companion another peer holds.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { messageSend } from '../../protocol/build.ts'
import { roomKeyFromPassphrase, seal } from '../../protocol/private-rooms.ts'
import { roomName } from '../../protocol/rooms.ts'
import { companionIdOf, launchBrowser, presentIds } from '../helpers/browser.ts'
import type { Browser } from '../helpers/browser.ts'
import { openFirehose } from '../helpers/firehose-client.ts'
import type { FirehoseClient } from '../helpers/firehose-client.ts'
import { spawnHeadless } from '../helpers/headless-process.ts'
import type { HeadlessProcess } from '../helpers/headless-process.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { spawnRelay } from '../helpers/relay-process.ts'
import type { RelayProcess } from '../helpers/relay-process.ts'
import { waitFor } from '../helpers/wait.ts'

const root = join(import.meta.dirname, '..', '..')
const ROOM = '~team'
const PASSPHRASE = 'sealed with honey and green tea'
const SAID = 'Hello everyone, what keeps you busy this week?'

describe('a private room: only its people read it', { skip: networkSkipReason({ browser: true }) }, () => {
  let dataDir: string
  let relay: RelayProcess
  let browser: Browser
  let maker: Page
  let joiner: Page
  let headless: HeadlessProcess
  let watcher: FirehoseClient
  const lineTexts = async (tab: Page): Promise<string[]> => await tab.locator('[data-testid=line] p.text').allTextContents()

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kotoba-private-'))
    relay = await spawnRelay({ dataDir: join(dataDir, 'relay') })
    browser = await launchBrowser()
  })
  after(async () => {
    await watcher?.close()
    await headless?.kill()
    await browser?.close()
    await relay?.kill()
    await rm(dataDir, { recursive: true, force: true })
  }, { timeout: 30_000 })

  it('made with a passphrase, joined by link and key file, converses; relay, history and firehose see ciphertext', async () => {
    maker = await browser.open(`${relay.httpUrl}?companion=aya`)
    await maker.getByTestId('room-new-private').click()
    await maker.getByTestId('private-room-name').fill('team')
    await maker.getByTestId('private-room-passphrase').fill(PASSPHRASE)
    await maker.getByTestId('private-room-form').locator('button[type=submit]').click()
    await maker.waitForURL(/[?&]room=~team#key=[A-Za-z0-9_-]{43}$/, { timeout: 15_000 })
    await maker.getByTestId('room-private').waitFor()
    const link = new URL((await maker.getByTestId('room-link').getAttribute('href'))!)
    assert.equal(link.search, '?room=~team')
    assert.match(link.hash, /^#key=[A-Za-z0-9_-]{43}$/, 'the share link carries the key after #')

    watcher = await openFirehose(`${relay.firehoseUrl}?room=${ROOM}`)
    link.searchParams.set('companion', 'ren')
    joiner = await browser.open(link.toString())
    const keyFile = join(dataDir, 'room-key')
    await writeFile(keyFile, `${PASSPHRASE}\n`)
    headless = await spawnHeadless(['--card', join(root, 'docs', 'cards', 'kyoko.json'), '--room', ROOM, '--room-key', keyFile,
      '--host', '127.0.0.1', '--no-mdns', '--bootstrap', `/ip4/127.0.0.1/tcp/${relay.tcpPort}/p2p/${relay.peerId}`, '--data-dir', join(dataDir, 'kyoko')])

    const ids = [await companionIdOf(maker), await companionIdOf(joiner), 'companion_kyoko']
    for (const [i, tab] of [maker, joiner].entries()) {
      await waitFor(async () => JSON.stringify(await presentIds(tab)) === JSON.stringify(ids.filter((_, j) => j !== i).sort()), `tab ${i} to see the other two companions`, 30_000)
    }
    await maker.getByTestId('message-input').fill(SAID)
    await maker.getByTestId('send-button').click()
    // The line reaches the other tab, and companions answer it, in both tabs.
    await waitFor(async () => (await lineTexts(joiner)).includes(SAID), 'the person\'s line in the other tab', 15_000)
    const companionLines = async (tab: Page): Promise<number> => await tab.locator('[data-testid=line][data-from^=companion_]').count()
    await waitFor(async () => await companionLines(maker) >= 2 && await companionLines(joiner) >= 2, 'companions to answer, heard in both tabs', 30_000)

    // Without the key: ciphertext on every topic, and no trace of what was said.
    await waitFor(async () => watcher.frames.length >= 3, 'the firehose client to see the conversation go by')
    for (const frame of watcher.frames) assert.deepEqual(Object.keys(frame as object), ['sealed'], JSON.stringify(frame))
    assert.doesNotMatch(JSON.stringify(watcher.frames), /keeps you busy|companion_/)
    const history = await (await fetch(new URL(`/api/rooms/${ROOM}/history`, relay.httpUrl))).json() as { entries: Array<{ kind: string, payload: unknown }> }
    assert.ok(history.entries.filter(e => e.kind === 'line').length >= 3, `${history.entries.length} entries`)
    for (const entry of history.entries) assert.deepEqual(Object.keys(entry.payload as object), ['sealed'])
    assert.doesNotMatch(JSON.stringify(history), /keeps you busy/)
    const info = await (await fetch(new URL('/api/relay', relay.httpUrl))).json() as { rooms: Array<{ name: string }> }
    assert.ok(!info.rooms.some(r => r.name === ROOM), 'a private room is not listed')
    // A plain payload published into the room is refused, saying why.
    watcher.send({ topic: 'messages', body: { jsonrpc: '2.0', method: 'message.send', params: { id: 'x', from: 'user_x', to: [], message: 'in clear' } } })
    await waitFor(() => JSON.stringify(watcher.frames).includes('a private room carries only sealed payloads'), 'the refusal')
  })

  it('a wrong passphrase opens nothing and says so; the right one reads the history; the example client reads and speaks', async () => {
    const late = await browser.open(`${relay.httpUrl}?room=${ROOM}&companion=mio`)
    await late.getByTestId('room-passphrase').fill('not the passphrase at all')
    await late.getByTestId('room-lock').locator('button[type=submit]').click()
    await late.getByTestId('room-unreadable').waitFor({ timeout: 15_000 })
    assert.equal(await late.locator('[data-testid=line]').count(), 0)
    await late.close()

    const script = spawn(process.execPath, [join(root, 'docs', 'examples', 'private-room.mjs'), relay.firehoseUrl, ROOM, 'A line from a script that holds the key'], {
      env: { ...process.env, KOTOBA_ROOM_KEY: PASSPHRASE }, stdio: ['ignore', 'pipe', 'pipe']
    })
    let printed = ''
    script.stdout.on('data', (chunk: Buffer) => { printed += chunk.toString() })
    script.stderr.on('data', (chunk: Buffer) => { printed += chunk.toString() })
    try {
      await waitFor(async () => (await lineTexts(maker)).includes('A line from a script that holds the key'), 'the script\'s line in the tab', 20_000)
      await waitFor(() => /"type":"ack","id":"say"/.test(printed) && /^companion_\w+: .+$/m.test(printed), `the script to be acknowledged and to read a companion's answer; it printed:\n${printed}`, 30_000)
    } finally {
      script.kill()
    }

    // Who is who, checked by the members: a sealed line speaking as the headless companion, from
    // the firehose, is dropped by every tab; the next line, as a person, is shown.
    const key = await roomKeyFromPassphrase(roomName(ROOM), PASSPHRASE)
    const sealedLine = async (from: string, message: string): Promise<unknown> =>
      (await seal(key, 'messages', JSON.stringify(messageSend({ from, to: [], message })))).payload
    watcher.send({ topic: 'messages', body: await sealedLine('companion_kyoko', 'I am not really Kyoko') })
    watcher.send({ topic: 'messages', body: await sealedLine('user_guest', 'A guest with the key') })
    await waitFor(async () => (await lineTexts(joiner)).includes('A guest with the key'), 'the guest\'s line', 15_000)
    await waitFor(async () => Number(await joiner.getByTestId('refused-count').textContent()) >= 1, 'the tab to refuse the line speaking as Kyoko')
    assert.ok(!(await lineTexts(joiner)).includes('I am not really Kyoko'))

    const again = await browser.open(`${relay.httpUrl}?room=${ROOM}&companion=sora`)
    await again.getByTestId('room-passphrase').fill(PASSPHRASE)
    await again.getByTestId('room-lock').locator('button[type=submit]').click()
    await again.waitForURL(/#key=/)
    await waitFor(async () => (await again.locator('[data-testid=line][data-earlier=true] p.text').allTextContents()).includes(SAID), 'the room\'s history, opened', 15_000)
    assert.equal(await again.getByTestId('room-unreadable').count(), 0)
    // The transcript downloads as in any room, opened.
    const [download] = await Promise.all([again.waitForEvent('download'), again.getByTestId('download-json').click()])
    const saved = JSON.parse(await readFile(await download.path(), 'utf8')) as { room: string, lines: Array<{ text: string }> }
    assert.equal(saved.room, ROOM)
    assert.ok(saved.lines.some(l => l.text === SAID), download.suggestedFilename())
    await again.close()
  })
})
