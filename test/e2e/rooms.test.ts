/**
 * Rooms end to end. Over one relay process: Chromium tabs in a named room
 * and in the default room, a companion the relay runs in the named room,
 * firehose clients of both; each converses, sees and hears only its room.
 * The page shows, switches and shares rooms. Over two relays of one mesh:
 * headless companions and firehose clients of a room on either relay.
 * Every way in refuses a bad room name.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import WebSocket from 'ws'
import { startHeadlessCompanion } from '../../headless/headless-companion.ts'
import type { HeadlessCompanion } from '../../headless/headless-companion.ts'
import { messageSend } from '../../protocol/build.ts'
import { DEFAULT_ROOM, roomName } from '../../protocol/rooms.ts'
import { resolveOptions } from '../../relay/options.ts'
import type { RelayOptions } from '../../relay/options.ts'
import { startRelay } from '../../relay/relay.ts'
import type { RelayHandle } from '../../relay/relay.ts'
import { companionIdOf, launchBrowser, presentIds } from '../helpers/browser.ts'
import type { Browser } from '../helpers/browser.ts'
import { openFirehose } from '../helpers/firehose-client.ts'
import type { FirehoseClient } from '../helpers/firehose-client.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { spawnRelay } from '../helpers/relay-process.ts'
import type { RelayProcess } from '../helpers/relay-process.ts'
import { waitFor } from '../helpers/wait.ts'
import { SILENT } from '../../p2p/logger.ts'

const root = join(import.meta.dirname, '..', '..')
const KYOKO = join(root, 'docs', 'cards', 'kyoko.json')
const ROOM_RULE = /a room name has 1 to 64 characters, each a-z, 0-9, - or _/

const messageIds = (client: FirehoseClient): string[] =>
  client.frames.filter((f: any) => f?.method === 'message.send').map((f: any) => f.params.id as string)

/** The refusal a WebSocket upgrade got: its HTTP status and body. */
async function refusedUpgrade (url: string): Promise<{ status: number, body: string }> {
  const ws = new WebSocket(url)
  const [, response] = await once(ws, 'unexpected-response') as [unknown, import('node:http').IncomingMessage]
  let body = ''
  for await (const chunk of response) body += String(chunk)
  ws.on('error', () => {})
  ws.terminate()
  return { status: response.statusCode ?? 0, body }
}

/** Runs an entry point to its end: exit code and output. */
async function runToExit (args: string[]): Promise<{ code: number | null, output: string }> {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const [code] = await once(child, 'exit') as [number | null]
  return { code, output }
}

describe('rooms over one relay: tabs, a relay-run companion and firehose clients', { skip: networkSkipReason({ browser: true }) }, () => {
  let dataDir: string
  let relay: RelayProcess
  let browser: Browser
  let blue: Page[]
  let lobby: Page
  let blueIds: string[]
  let lobbyId: string
  const clients: FirehoseClient[] = []
  const open = async (query: string): Promise<FirehoseClient> => {
    const client = await openFirehose(`${relay.firehoseUrl}${query}`)
    clients.push(client)
    return client
  }

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kotoba-rooms-'))
    relay = await spawnRelay({ dataDir, args: ['--companion', `${KYOKO}@blue`] })
    browser = await launchBrowser()
    // The room's name as a person might type it: case-folded.
    blue = [
      await browser.open(`${relay.httpUrl}?room=Blue&companion=aya`),
      await browser.open(`${relay.httpUrl}?room=blue&companion=ren`)
    ]
    lobby = await browser.open(`${relay.httpUrl}?companion=mio`)
    blueIds = await Promise.all(blue.map(companionIdOf))
    lobbyId = await companionIdOf(lobby)
  })

  after(async () => {
    for (const c of clients) await c.close()
    await browser?.close()
    await relay?.kill()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('companions see only the companions of their room, and link directly only to them', async () => {
    assert.match(relay.output(), /companion\s+Kyoko \(companion_kyoko\) in room blue/)
    for (const [i, tab] of blue.entries()) {
      assert.equal(await tab.getByTestId('room-name').textContent(), 'blue')
      const others = [...blueIds.filter((_, j) => j !== i), 'companion_kyoko'].sort()
      await waitFor(async () => JSON.stringify(await presentIds(tab)) === JSON.stringify(others), `blue tab ${i} to list the other blue tab and Kyoko`, 20_000)
      await waitFor(async () => await tab.locator('[data-testid=peer-row][data-kind=webrtc]').count() === 2, `blue tab ${i} to link directly to the two other companions of its room`, 20_000)
    }
    assert.equal(await lobby.getByTestId('room-name').textContent(), DEFAULT_ROOM)
    assert.deepEqual(await presentIds(lobby), [], 'the lobby tab sees nobody of room blue')
    assert.equal(await lobby.locator('[data-testid=peer-row][data-kind=webrtc]').count(), 0, 'and links to nobody')
  })

  it('a line said in a room reaches every companion and client of that room, and nothing outside it', async () => {
    const blueV0 = await open('?room=blue')
    const lobbyV0 = await open('')
    const both = await open('?v=1')
    both.send({ type: 'subscribe', rooms: ['Blue', DEFAULT_ROOM], topics: ['messages'] })
    const subscribed = await both.next(f => f.type === 'subscribed', 'the subscription')
    assert.deepEqual(subscribed.rooms, ['blue', DEFAULT_ROOM])

    blueV0.send({ topic: 'messages', body: messageSend({ id: 'to-blue', from: 'user_tester', to: [...blueIds, 'companion_kyoko'], message: 'Hello, room blue!' }) })
    for (const tab of blue) await tab.locator('[data-testid=line][data-message-id=to-blue]').waitFor({ timeout: 10_000 })
    const event = await both.next(f => f.type === 'event' && f.payload?.params?.id === 'to-blue', 'the blue line on the v1 client')
    assert.equal(event.room, 'blue')
    // Kyoko (in the relay's process) hears it too: it is one of the voices that may answer.
    await waitFor(() => both.frames.some((f: any) => f.type === 'event' && f.room === 'blue' && f.payload?.params?.metadata?.replyTo === 'to-blue'), 'a blue companion to answer', 30_000)

    // Each firehose connection speaks as a person of its own (one in use elsewhere is refused).
    both.send({ type: 'publish', id: 'p-lobby', room: 'Lobby', topic: 'messages', body: messageSend({ id: 'to-lobby', from: 'user_watcher', to: [lobbyId], message: 'Hello, lobby!' }) })
    await both.next(f => f.type === 'ack' && f.id === 'p-lobby', 'the publish acknowledged')
    await lobbyV0.next(f => f?.params?.id === 'to-lobby', 'the lobby line on the lobby client')
    await lobby.locator('[data-testid=line][data-message-id=to-lobby]').waitFor({ timeout: 10_000 })
    // The lobby heard its own line, later than the blue one: had anything of blue
    // reached the lobby, it would be there by now.
    assert.ok(!messageIds(lobbyV0).some(id => id === 'to-blue' || blueIds.includes(id)), 'no blue line on the lobby client')
    assert.equal(await lobby.locator('[data-testid=line][data-message-id=to-blue]').count(), 0, 'no blue line in the lobby tab')
    await blueV0.next(f => f?.params?.metadata?.replyTo === 'to-blue', 'a blue answer on the blue client')
    assert.ok(!messageIds(blueV0).includes('to-lobby'), 'no lobby line on the blue client')
    for (const tab of blue) assert.equal(await tab.locator('[data-testid=line][data-message-id=to-lobby]').count(), 0)
    // The v1 client watches both rooms: a lobby line from another client reaches it, marked as the lobby's.
    lobbyV0.send({ topic: 'messages', body: messageSend({ id: 'to-lobby-2', from: 'user_other', to: [lobbyId], message: 'Me too!' }) })
    const lobbyEvent = await both.next(f => f.type === 'event' && f.payload?.params?.id === 'to-lobby-2', 'the lobby line on the v1 client')
    assert.equal(lobbyEvent.room, DEFAULT_ROOM)
    assert.ok(!messageIds(blueV0).includes('to-lobby-2'))
  })

  it('/api/relay and /firehose/info list the rooms in use with their companions', async () => {
    const expected = [{ name: DEFAULT_ROOM, companions: 1 }, { name: 'blue', companions: 3 }]
    const read = async (path: string): Promise<unknown> => ((await (await fetch(new URL(path, relay.httpUrl))).json()) as { rooms: unknown }).rooms
    await waitFor(async () => JSON.stringify(await read('/api/relay')) === JSON.stringify(expected), 'the rooms listed', 10_000)
    assert.deepEqual(await read('/firehose/info'), expected)
  })

  it('/api/relay?room= names the members of that room, for a newcomer to link to at once; a bad name is refused', async () => {
    const rosterOf = async (room: string): Promise<{ status: number, body: any }> => {
      const response = await fetch(new URL(`/api/relay?room=${room}`, relay.httpUrl))
      return { status: response.status, body: await response.json() }
    }
    const blueRoster = await rosterOf('Blue')
    assert.equal(blueRoster.status, 200)
    assert.deepEqual(blueRoster.body.roster.map((m: any) => m.card?.id).sort(), [...blueIds, 'companion_kyoko'].sort())
    for (const member of blueRoster.body.roster) {
      assert.ok(member.addrs.some((a: string) => a.endsWith(`/p2p-circuit/webrtc/p2p/${member.peer}`)) || member.card.id === 'companion_kyoko', 'each tab gives an address to dial it by, through the relay')
    }
    assert.deepEqual((await rosterOf(DEFAULT_ROOM)).body.roster.map((m: any) => m.card?.id), [lobbyId])
    assert.deepEqual((await rosterOf('nobody-here')).body.roster, [], 'a room nobody is in has nobody to name')
    assert.deepEqual((await (await fetch(new URL('/api/relay', relay.httpUrl))).json() as { roster: unknown }).roster, [], 'without ?room=, no roster')
    const refused = await rosterOf('no%20way')
    assert.equal(refused.status, 400)
    assert.match(refused.body.error.message, ROOM_RULE)
  })

  it('the page moves to another room, makes a new one, and shares a link to its room', async () => {
    const tab = await browser.open(`${relay.httpUrl}?companion=kai&turn-limit=3`)
    const id = await companionIdOf(tab)
    await tab.getByTestId('room-input').fill('no way')
    await tab.getByRole('button', { name: 'go' }).click()
    assert.match((await tab.getByTestId('room-problem').textContent())!, ROOM_RULE)
    assert.equal(new URL(tab.url()).searchParams.get('room'), null, 'a bad name goes nowhere')

    await tab.getByTestId('room-input').fill('Green')
    await tab.getByRole('button', { name: 'go' }).click()
    await waitFor(async () => await tab.getByTestId('room-name').textContent() === 'green', 'the tab to be in room green')
    const url = new URL(tab.url())
    assert.equal(url.searchParams.get('room'), 'green')
    assert.equal(url.searchParams.get('turn-limit'), '3', 'the tab keeps its other settings')
    assert.equal(await companionIdOf(tab), id, 'the same companion moved')
    const link = new URL((await tab.getByTestId('room-link').getAttribute('href'))!)
    assert.equal(link.search, '?room=green', 'the link names the room and nothing of this tab')

    await tab.getByTestId('room-new').click()
    await waitFor(() => /^room-[0-9a-z]{1,5}$/.test(new URL(tab.url()).searchParams.get('room') ?? ''), 'a new room')
    await waitFor(async () => (await tab.getByTestId('room-name').textContent())?.startsWith('room-') === true, 'the tab in its new room')
    await tab.close()
  })

  it('a page with a bad room name says so and starts nothing', async () => {
    const tab = await browser.open(`${relay.httpUrl}?room=no%20way`)
    assert.match((await tab.getByTestId('room-error').textContent())!, ROOM_RULE)
    await tab.waitForLoadState('load')
    const fetched = await tab.evaluate(() => performance.getEntriesByType('resource').map(e => e.name))
    assert.ok(!fetched.some(name => name.includes('/api/relay')), 'no node was started (it would ask /api/relay first)')
    assert.equal(await tab.getByTestId('peer-id').textContent(), '…')
    await tab.close()
  })
})

describe('rooms: bad names and limits on the relay, rooms across two relays of a mesh', { skip: networkSkipReason() }, () => {
  let dataDir: string
  const relays: RelayHandle[] = []
  const companions: HeadlessCompanion[] = []
  const clients: FirehoseClient[] = []
  const start = async (options: Partial<RelayOptions> = {}): Promise<RelayHandle> => {
    const relay = await startRelay(resolveOptions({ host: '127.0.0.1', port: 0, mdns: false, dataDir: join(dataDir, `relay-${relays.length}`), ...options }), { log: SILENT })
    relays.push(relay)
    return relay
  }
  const firehoseOf = (relay: RelayHandle, query = ''): string => `ws://127.0.0.1:${relay.httpPort}/firehose${query}`
  const open = async (url: string): Promise<FirehoseClient> => {
    const client = await openFirehose(url)
    clients.push(client)
    return client
  }
  const tcpOf = (relay: RelayHandle): string => relay.multiaddrs().map(String).find(a => !a.includes('/ws'))!

  before(async () => { dataDir = await mkdtemp(join(tmpdir(), 'kotoba-rooms-relay-')) })
  after(async () => {
    for (const c of clients) await c.close()
    await Promise.all(companions.map(async c => { await c.close() }))
    for (const r of relays) await r.close()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('the firehose refuses a bad room name at the door, in a subscription and in a publish; the connection stays', async () => {
    const relay = await start()
    const refused = await refusedUpgrade(firehoseOf(relay, '?room=no%20way'))
    assert.equal(refused.status, 400)
    assert.match(refused.body, ROOM_RULE)

    const client = await open(firehoseOf(relay, '?v=1'))
    client.send({ type: 'subscribe', rooms: ['fine', 'not fine'] })
    const error = await client.next(f => f.type === 'error', 'the refusal')
    assert.equal(error.code, 'invalid')
    assert.match(error.message, ROOM_RULE)
    client.send({ type: 'publish', id: 'bad-room', room: 'a.b', topic: 'messages', body: messageSend({ from: 'user_x', to: [], message: 'hi' }) })
    const refusedPublish = await client.next(f => f.type === 'error' && f.id === 'bad-room', 'the publish refused')
    assert.match(refusedPublish.message, ROOM_RULE)
    client.send({ type: 'ping', id: 'still-here' })
    await client.next(f => f.type === 'pong' && f.id === 'still-here', 'the connection to stay open')
    assert.deepEqual(relay.relayInfo().rooms.map(r => r.name), [DEFAULT_ROOM], 'no room was made')
  })

  it('the relay carries at most --max-rooms rooms, and says so', async () => {
    const relay = await start({ maxRooms: 2 })
    await open(firehoseOf(relay, '?room=one'))
    const full = new WebSocket(firehoseOf(relay, '?room=two'))
    const [code, reason] = await once(full, 'close') as [number, Buffer]
    assert.equal(code, 1013)
    assert.match(reason.toString(), /room two: this relay carries 2 rooms already/)
    const v1 = await open(firehoseOf(relay, '?v=1'))
    v1.send({ type: 'subscribe', rooms: ['three'] })
    const error = await v1.next(f => f.type === 'error', 'the refusal')
    assert.equal(error.code, 'too-many-rooms')
    assert.deepEqual(relay.relayInfo().rooms.map(r => r.name), [DEFAULT_ROOM, 'one'])
  })

  it('a room spans two relays of a mesh: its companions meet and its lines reach its clients on either relay', async () => {
    const a = await start()
    const b = await start({ bootstrap: [tcpOf(a)] })
    await waitFor(() => a.relayInfo().neighbours.some(n => n.peerId === b.peerId), 'the relays to link')
    const green = roomName('green')
    const companion = async (name: string, relay: RelayHandle, room = green): Promise<HeadlessCompanion> => {
      const c = await startHeadlessCompanion({
        card: { id: `companion_${name}`, name, personality: 'calm', story: 'a companion of the mesh', sample: 'hm' },
        room, host: '127.0.0.1', tcpPort: 0, mdns: false, bootstrap: [tcpOf(relay)], dataDir: join(dataDir, name), turnLimit: 2
      }, { log: SILENT })
      companions.push(c)
      return c
    }
    const onA = await companion('ao', a)
    const onB = await companion('midori', b)
    const lobbyOnB = await companion('hiro', b, DEFAULT_ROOM)
    await waitFor(() => onA.present().some(c => c.id === 'companion_midori') && onB.present().some(c => c.id === 'companion_ao'), 'the green companions to meet across the relays', 20_000)
    assert.deepEqual(lobbyOnB.present(), [], 'the lobby companion meets neither')
    assert.ok(!onB.present().some(c => c.id === 'companion_hiro'))

    const greenA = await open(firehoseOf(a, '?room=green'))
    const greenB = await open(firehoseOf(b, '?room=green'))
    const lobbyA = await open(firehoseOf(a))
    // A relay joins a room when its first peer subscribes; until both relays
    // carry green a line may not cross, so the client says it again until it does.
    const heard: string[] = []
    onA.bus.onPayload((d) => { if (d.topic === 'messages') heard.push(d.payload.params.id) })
    let n = 0
    await waitFor(() => {
      greenB.send({ topic: 'messages', body: messageSend({ id: `green-${++n}`, from: 'user_tester', to: [], message: 'hello green' }) })
      return messageIds(greenA).some(id => id.startsWith('green-')) && heard.some(id => id.startsWith('green-'))
    }, 'a green line from relay B to the green client and companion on relay A', 20_000, 500)
    const lobbyLine = 'lobby-after'
    greenA.ws.close()
    const lobbyB = await open(firehoseOf(b))
    lobbyB.send({ topic: 'messages', body: messageSend({ id: lobbyLine, from: 'user_lobby', to: [], message: 'hello lobby' }) })
    await lobbyA.next(f => f?.params?.id === lobbyLine, 'the lobby line across the relays')
    assert.ok(!messageIds(lobbyA).some(id => id.startsWith('green-')), 'no green line in the lobby')
    assert.ok(!messageIds(greenB).includes(lobbyLine), 'no lobby line in green')
    // Each relay counts the room's companions on every relay of the mesh.
    for (const relay of [a, b]) {
      await waitFor(() => JSON.stringify(relay.relayInfo().rooms) === JSON.stringify([{ name: DEFAULT_ROOM, companions: 1 }, { name: 'green', companions: 2 }]), 'the rooms listed with their companions')
    }
  })

  it('node relay and the headless companion refuse a bad room name before they start', async () => {
    const relay = await runToExit([join(root, 'relay'), '--companion', `${KYOKO}@no!`, '--port', '0', '--no-mdns', '--data-dir', join(dataDir, 'never')])
    assert.equal(relay.code, 2)
    assert.match(relay.output, ROOM_RULE)
    assert.doesNotMatch(relay.output, /is running/)
    const headless = await runToExit([join(root, 'headless'), '--card', KYOKO, '--room', 'no way', '--no-mdns', '--data-dir', join(dataDir, 'never-h')])
    assert.equal(headless.code, 2)
    assert.match(headless.output, /--room: a room name has/)
    assert.doesNotMatch(headless.output, /is running/)
  })
})
