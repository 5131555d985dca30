/**
 * A headless companion (`npm run companion -- --card FILE`, a real process
 * on its own host of a LAN of namespaces) and a browser companion (a
 * Chromium tab on a relay on another host) find each other, exchange cards,
 * link directly over WebRTC, and converse.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { messageSend } from '../../protocol/build.ts'
import { launchBrowser } from '../helpers/browser.ts'
import type { Browser } from '../helpers/browser.ts'
import { runHeadlessCommand, spawnHeadless } from '../helpers/headless-process.ts'
import type { HeadlessProcess } from '../helpers/headless-process.ts'
import { createLan, lanSkipReason } from '../helpers/lan.ts'
import type { Lan } from '../helpers/lan.ts'
import { FAKE_LINE_PREFIX, startFakeLlm } from '../helpers/fake-llm.ts'
import type { FakeLlm } from '../helpers/fake-llm.ts'
import { openFirehose } from '../helpers/firehose-client.ts'
import type { FirehoseClient } from '../helpers/firehose-client.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { spawnRelay } from '../helpers/relay-process.ts'
import type { RelayProcess } from '../helpers/relay-process.ts'
import { waitFor } from '../helpers/wait.ts'

const skip = networkSkipReason({ browser: true }) || lanSkipReason()
const CARD = { id: 'companion_kyoko', name: 'Kyoko', personality: 'calm and thoughtful; speaks carefully', story: 'A librarian who reads three books at once.', sample: 'That reminds me of something I read last winter.' }

describe('a headless companion and a browser companion', { skip }, () => {
  let lan: Lan
  let dir: string
  let relay: RelayProcess
  let headless: HeadlessProcess
  const output = (): string => headless.output()
  let browser: Browser
  let tab: Page
  let tabCompanionId: string

  before(async () => {
    lan = createLan()
    dir = await mkdtemp(join(tmpdir(), 'kotoba-headless-'))
    relay = await spawnRelay({ dataDir: join(dir, 'relay'), lanHost: lan.addHost('relay'), mdns: true })
    const cardFile = join(dir, 'kyoko.json')
    await writeFile(cardFile, JSON.stringify(CARD))
    headless = await spawnHeadless(['--card', cardFile, '--data-dir', join(dir, 'kyoko'), '--turn-limit', '4'], lan.addHost('board'))
  })

  after(async () => {
    await browser?.close()
    await headless?.kill()
    await relay?.kill()
    lan?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('starts, finds the relay by mDNS, and prints what it is', () => {
    assert.match(output(), /kotoba companion Kyoko \(companion_kyoko\) is running/)
    assert.match(output(), /brain\s+built-in/)
  })

  it('they exchange cards and hold a direct WebRTC link', async () => {
    const headlessPeerId = headless.peerId
    // Whichever has the smaller peer id dials the other.
    await waitFor(() => output().includes(`mdns: connected to ${relay.peerId}`) || relay.output().includes(`mdns: connected to ${headlessPeerId}`), 'the companion and the relay to connect by mDNS', 15_000)
    browser = await launchBrowser()
    tab = await browser.open(`${relay.httpUrl}?companion=aya&turn-limit=4&pace=150&vote-window=1500`)
    await tab.getByTestId('companion-id').waitFor({ timeout: 15_000 })
    tabCompanionId = (await tab.getByTestId('companion-id').textContent())!
    const row = tab.locator(`[data-testid=present-companion][data-companion-id=${CARD.id}]`)
    await row.waitFor({ timeout: 20_000 })
    assert.match((await row.textContent())!, /Kyoko/)
    await waitFor(() => output().includes(`(${tabCompanionId}) is here`), 'the headless companion to list the tab\'s companion', 20_000)
    const headlessPeer = await row.getAttribute('data-peer-id')
    const links = tab.locator(`[data-testid=peer-row][data-kind=webrtc][data-peer-id="${headlessPeer}"]`)
    await waitFor(async () => await links.count() === 1, 'exactly one direct WebRTC link to the headless companion', 20_000)
  })

  it('they converse: the person asks both, and both companions speak', async () => {
    const lines = tab.getByTestId('line')
    await waitFor(async () => await tab.getByTestId('companion-status').getAttribute('data-status') === 'resting', 'the greetings to end', 60_000)
    const before = await lines.count()
    await tab.getByTestId('message-input').fill('Hello Kyoko and Aya, what are you reading?')
    await tab.getByTestId('send-button').click()
    await waitFor(async () => {
      const speakers = await lines.evaluateAll((els, n) => els.slice(n).map(el => el.getAttribute('data-from')), before)
      return speakers.includes(CARD.id) && speakers.includes(tabCompanionId)
    }, 'both companions to speak in the tab', 60_000)
    // The headless companion's own lines as it printed them.
    assert.match(output(), /Kyoko -> [^\n]+: /)
    assert.deepEqual(browser.consoleErrors, [])
  })
})

describe('headless companions that think with a model', { skip: networkSkipReason() }, () => {
  const REN = { id: 'companion_ren', name: 'Ren', personality: 'quick and cheerful', story: 'Runs the corner bakery.', sample: 'Fresh bread at six!' }
  let dir: string
  let llm: FakeLlm
  let relay: RelayProcess
  let headless: HeadlessProcess
  let firehose: FirehoseClient

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kotoba-headless-llm-'))
    llm = await startFakeLlm()
    await writeFile(join(dir, 'kyoko.json'), JSON.stringify(CARD))
    await writeFile(join(dir, 'ren.json'), JSON.stringify(REN))
    // Kyoko inside the relay's process, with the relay's endpoint; Ren on her own, with hers.
    relay = await spawnRelay({ dataDir: join(dir, 'relay'), args: ['--companion', join(dir, 'kyoko.json'), '--llm-url', llm.baseUrl, '--llm-model', 'relay-model'] })
    headless = await spawnHeadless(['--card', join(dir, 'ren.json'), '--data-dir', join(dir, 'ren'), '--no-mdns', '--host', '127.0.0.1',
      '--bootstrap', `/ip4/127.0.0.1/tcp/${relay.tcpPort}/p2p/${relay.peerId}`, '--llm-url', llm.baseUrl, '--llm-model', 'ren-model', '--turn-limit', '4'])
    firehose = await openFirehose(relay.firehoseUrl)
  })

  after(async () => {
    await firehose?.close()
    await headless?.kill()
    await relay?.kill()
    await llm?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('`node relay --companion` names its companions, and they meet the one started on its own', async () => {
    assert.match(relay.output(), /companion\s+Kyoko \(companion_kyoko\) in room lobby, peer id \S+/)
    await waitFor(() => /\+ Kyoko \(companion_kyoko\) is here/.test(headless.output()), 'Ren to hold Kyoko\'s card')
    await waitFor(() => /\[Kyoko\] \+ Ren \(companion_ren\) is here/.test(relay.output()), 'Kyoko to hold Ren\'s card')
  })

  it('each speaks the words of its own model', async () => {
    const ask = async (card: typeof CARD, message: string): Promise<string> => {
      firehose.send({ topic: 'messages', body: messageSend({ from: 'user_reader', to: [card.id], message }) })
      const said = await firehose.next(f => f?.params?.from === card.id && typeof f.params.message === 'string', `a line from ${card.name}`, 20_000)
      return said.params.message
    }
    assert.ok((await ask(CARD, 'Kyoko, what are you reading today?')).startsWith(FAKE_LINE_PREFIX), 'Kyoko spoke with the model')
    assert.ok((await ask(REN, 'Ren, what are you baking today?')).startsWith(FAKE_LINE_PREFIX), 'Ren spoke with the model')
    const models = new Set(llm.requests.map(r => r.body.model))
    assert.deepEqual([...models].sort(), ['relay-model', 'ren-model'])
  })
})

describe('the headless companion command line', () => {
  const run = runHeadlessCommand

  it('explains itself with --help', async () => {
    const { code, text } = await run(['--help'])
    assert.equal(code, 0)
    assert.match(text, /--card FILE/)
    assert.match(text, /--llm-url URL/)
  })

  it('refuses a missing or bad card with a clear message and exit code 2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kotoba-card-'))
    try {
      let result = await run([])
      assert.equal(result.code, 2)
      assert.match(result.text, /--card FILE is required/)
      await writeFile(join(dir, 'bad.json'), '{"name": "no id"}')
      result = await run(['--card', join(dir, 'bad.json')])
      assert.equal(result.code, 2)
      assert.match(result.text, /is not a companion card: it needs id, name/)
      await writeFile(join(dir, 'ok.json'), JSON.stringify({ metadata: CARD }))
      result = await run(['--card', join(dir, 'ok.json'), '--llm-url', 'http://127.0.0.1:9/v1'])
      assert.equal(result.code, 2)
      assert.match(result.text, /--llm-model/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
