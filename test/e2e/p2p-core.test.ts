/**
 * The P2P core end to end: a real relay process, real Chromium tabs, real
 * firehose clients and a raw libp2p peer, in one story that runs in order.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { messageSend } from '../../protocol/build.ts'
import { launchBrowser, openPanel } from '../helpers/browser.ts'
import type { Browser } from '../helpers/browser.ts'
import { openFirehose } from '../helpers/firehose-client.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { spawnRelay } from '../helpers/relay-process.ts'
import type { RelayProcess } from '../helpers/relay-process.ts'
import { startRawPeer } from '../helpers/raw-peer.ts'
import { waitFor } from '../helpers/wait.ts'

const skip = networkSkipReason({ browser: true })

const peerIdOf = async (page: Page): Promise<string> => {
  const locator = page.getByTestId('peer-id')
  await waitFor(async () => (await locator.textContent())?.startsWith('12D3'), 'the tab to show its peer id')
  return (await locator.textContent())!
}

const waitForLogText = async (page: Page, text: string): Promise<void> => {
  await openPanel(page, 'log-panel') // folded away by default; a developer opens it
  await page.getByTestId('log-entry').filter({ hasText: text }).first().waitFor({ timeout: 15_000 })
}

const logContains = async (page: Page, text: string): Promise<boolean> =>
  await page.getByTestId('log-entry').filter({ hasText: text }).count() > 0

const waitForRelayReserved = async (page: Page): Promise<void> => {
  await page.locator('[data-testid=relay-status][data-status=reserved]').waitFor({ timeout: 20_000 })
}

describe('P2P core: relay, tabs and firehose', { skip }, () => {
  let dataDir: string
  let relay: RelayProcess
  let browser: Browser
  let tabA: Page
  let tabB: Page
  let idA: string
  let idB: string

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kotoba-relay-'))
    relay = await spawnRelay({ dataDir })
    browser = await launchBrowser()
  })

  after(async () => {
    await browser?.close()
    await relay?.kill()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('serves the page, /api/relay and /healthz on one port', async () => {
    const page = await fetch(relay.httpUrl)
    assert.equal(page.status, 200)
    assert.equal(page.headers.get('cache-control'), null, 'the page itself is asked for each time')
    const html = await page.text()
    assert.match(html, /<div id="app">/)
    // The build's assets are named by their hash: kept by the browser without asking again.
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]
    const asset = await fetch(new URL(script, relay.httpUrl))
    assert.equal(asset.status, 200)
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable')
    await asset.arrayBuffer()
    const info = await (await fetch(new URL('/api/relay', relay.httpUrl))).json() as { peerId: string, multiaddrs: string[] }
    assert.equal(info.peerId, relay.peerId)
    assert.equal(info.multiaddrs[0], `/ip4/127.0.0.1/tcp/${relay.wsPort}/ws/p2p/${relay.peerId}`)
    const health = await (await fetch(new URL('/healthz', relay.httpUrl))).json() as { status: string }
    assert.equal(health.status, 'ok')
  })

  it('two tabs reach a direct WebRTC connection and exchange a message', async () => {
    tabA = await browser.open(relay.httpUrl)
    tabB = await browser.open(relay.httpUrl)
    idA = await peerIdOf(tabA)
    idB = await peerIdOf(tabB)
    await waitForRelayReserved(tabA)
    await waitForRelayReserved(tabB)

    // Each tab lists the other as a direct WebRTC peer (one connection, even if both
    // dialled at once), and the relay over WebSocket.
    const direct = (tab: Page, peer: string) => tab.locator(`[data-testid=peer-row][data-peer-id="${peer}"][data-kind=webrtc]`)
    await waitFor(async () => await direct(tabA, idB).count() === 1 && await direct(tabB, idA).count() === 1, 'one direct WebRTC connection each way', 20_000)
    await tabA.locator(`[data-testid=peer-row][data-peer-id="${relay.peerId}"][data-kind=websocket]`).waitFor()

    await tabA.getByTestId('message-input').fill('hello from tab A')
    await tabA.getByTestId('message-input').press('Enter')
    await waitForLogText(tabB, 'hello from tab A')
  })

  it('a firehose client reaches both tabs, and a tab reaches the firehose client', async () => {
    const client = await openFirehose(relay.firehoseUrl)
    try {
      client.send({ topic: 'messages', body: messageSend({ from: 'user_firehose', to: [], message: 'hello from the firehose' }) })
      await waitForLogText(tabA, 'hello from the firehose')
      await waitForLogText(tabB, 'hello from the firehose')

      await tabB.getByTestId('message-input').fill('hello from tab B')
      await tabB.getByTestId('send-button').click()
      const frame = await client.next(f => f.params?.message === 'hello from tab B', 'tab B\'s message on the firehose')
      assert.equal(frame.method, 'message.send')
    } finally {
      await client.close()
    }
  })

  it('a bad firehose frame gets an error frame and reaches no tab', async () => {
    const client = await openFirehose(relay.firehoseUrl)
    try {
      client.sendRaw('{not json BAD-1')
      const notJson = await client.next(f => f.error != null, 'an error frame for non-JSON')
      assert.equal(notJson.error.code, 'invalid')

      client.send({ topic: 'chatter', body: { text: 'BAD-2' } })
      await client.next(f => f.error?.code === 'unknown-topic', 'an unknown-topic error')

      client.send({ topic: 'messages', body: { jsonrpc: '2.0', method: 'message.send', params: { from: 'user_x', message: 'BAD-3' } } })
      const invalid = await client.next(f => f.error?.code === 'invalid' && /id|to/.test(f.error.message), 'a schema error')
      assert.match(invalid.error.message, /message\.send/)

      // The connection stays open: a good frame still goes through, and it
      // arrives after anything the bad ones could have caused.
      client.send({ topic: 'messages', body: messageSend({ from: 'user_firehose', to: [], message: 'GOOD-after-bad' }) })
      await waitForLogText(tabA, 'GOOD-after-bad')
      await waitForLogText(tabB, 'GOOD-after-bad')
      for (const tab of [tabA, tabB]) {
        for (const bad of ['BAD-1', 'BAD-2', 'BAD-3']) assert.equal(await logContains(tab, bad), false, `${bad} reached a tab`)
      }
    } finally {
      await client.close()
    }
  })

  it('an oversize firehose frame closes the connection with 1009', async () => {
    const client = await openFirehose(relay.firehoseUrl)
    client.send({ topic: 'messages', body: messageSend({ from: 'user_x', to: [], message: 'x'.repeat(200_000) }) })
    const { code } = await client.closed
    assert.equal(code, 1009)
  })

  it('a payload failing its schema, published by a raw libp2p peer, reaches no tab', async () => {
    const peer = await startRawPeer(`/ip4/127.0.0.1/tcp/${relay.tcpPort}/p2p/${relay.peerId}`)
    const firehose = await openFirehose(relay.firehoseUrl)
    try {
      await peer.publishRaw('messages', JSON.stringify({ jsonrpc: '2.0', method: 'message.send', params: { from: 'evil', message: 'RAW-BAD' } }))
      await peer.publishRaw('messages', '{"RAW-BAD-JSON')
      await peer.publishRaw('messages', JSON.stringify(messageSend({ from: 'user_raw', to: [], message: 'RAW-GOOD' })))
      await waitForLogText(tabA, 'RAW-GOOD')
      await waitForLogText(tabB, 'RAW-GOOD')
      await firehose.next(f => f.params?.message === 'RAW-GOOD', 'the raw peer\'s good message on the firehose')
      for (const tab of [tabA, tabB]) assert.equal(await logContains(tab, 'RAW-BAD'), false)
      assert.equal(firehose.frames.some(f => JSON.stringify(f).includes('RAW-BAD')), false)
      const health = await (await fetch(new URL('/healthz', relay.httpUrl))).json() as { topics: { messages: { refused: number } } }
      assert.ok(health.topics.messages.refused >= 2, `relay counted ${health.topics.messages.refused} refusals`)
    } finally {
      await firehose.close()
      await peer.stop()
    }
  })

  it('the relay is killed and restarted; both tabs reconnect and exchange messages again without reload', async () => {
    const { httpPort, wsPort, tcpPort } = relay
    await relay.kill('SIGKILL')
    await tabA.locator('[data-testid=relay-status][data-status=offline]').waitFor({ timeout: 15_000 })
    await tabB.locator('[data-testid=relay-status][data-status=offline]').waitFor({ timeout: 15_000 })

    relay = await spawnRelay({ dataDir, port: httpPort, wsPort, tcpPort })
    await waitForRelayReserved(tabA)
    await waitForRelayReserved(tabB)
    // GossipSub delivers only to peers whose subscriptions it has heard: wait for both tabs'.
    await waitFor(async () => {
      const health = await (await fetch(new URL('/healthz', relay.httpUrl))).json() as { topics: { messages: { subscribers: number } } }
      return health.topics.messages.subscribers >= 2
    }, 'the restarted relay to know both tabs subscribe')

    const client = await openFirehose(relay.firehoseUrl)
    try {
      client.send({ topic: 'messages', body: messageSend({ from: 'user_firehose', to: [], message: 'after the restart' }) })
      await waitForLogText(tabA, 'after the restart')
      await waitForLogText(tabB, 'after the restart')
      await tabA.getByTestId('message-input').fill('tab A is back')
      await tabA.getByTestId('message-input').press('Enter')
      await waitForLogText(tabB, 'tab A is back')
      await client.next(f => f.params?.message === 'tab A is back', 'tab A on the firehose after the restart')
    } finally {
      await client.close()
    }
    assert.deepEqual(browser.consoleErrors.filter(e => !/WebSocket connection to .* failed|ERR_CONNECTION_REFUSED/.test(e)), [])
  })

  it('shuts down gracefully on SIGTERM: firehose clients get 1001, the process exits 0', async () => {
    const client = await openFirehose(relay.firehoseUrl)
    const code = await relay.kill('SIGTERM')
    assert.equal((await client.closed).code, 1001)
    assert.equal(code, 0)
    assert.match(relay.output(), /SIGTERM: shutting down/)
  })
})
