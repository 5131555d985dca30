/**
 * A companion thinking with a language model, in real Chromium: a relay
 * process started with --llm-url in front of a tiny OpenAI-compatible server
 * the test runs. The person picks the model in the page (through the relay,
 * then at an endpoint of their own), tests it, and the companion answers
 * with the model's words. When the endpoint fails, the page says so and the
 * conversation goes on without it; when it is back, the message goes.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { launchBrowser, openPanel } from '../helpers/browser.ts'
import type { Browser } from '../helpers/browser.ts'
import { FAKE_LINE_PREFIX, startFakeLlm } from '../helpers/fake-llm.ts'
import type { FakeLlm } from '../helpers/fake-llm.ts'
import { openFirehose } from '../helpers/firehose-client.ts'
import type { FirehoseClient } from '../helpers/firehose-client.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { spawnRelay } from '../helpers/relay-process.ts'
import type { RelayProcess } from '../helpers/relay-process.ts'
import { waitFor } from '../helpers/wait.ts'

const skip = networkSkipReason({ browser: true })
const USER = 'user_llmtester'

interface Line { id: string, from: string, to: string[], message: string }
const linesFrom = (client: FirehoseClient, since: number, from: string): Line[] =>
  client.frames.slice(since)
    .filter((f: any) => f?.method === 'message.send' && f.params.from === from)
    .map((f: any) => f.params as Line)

describe('a companion with a language-model brain', { skip }, () => {
  let llm: FakeLlm
  let dataDir: string
  let relay: RelayProcess
  let browser: Browser
  let tab: Page
  let other: Page
  let id: string
  let otherId: string
  let firehose: FirehoseClient
  let n = 0

  const status = async (page: Page): Promise<string | null> => await page.getByTestId('companion-status').getAttribute('data-status')
  const restingBoth = async (): Promise<boolean> => await status(tab) === 'resting' && await status(other) === 'resting'
  /** A person's line to both companions; resolves when it was answered and both rest again. Returns where it began in the firehose. */
  const hello = async (text: string): Promise<number> => {
    await waitFor(restingBoth, 'both companions to rest', 60_000)
    const since = firehose.frames.length
    firehose.send({ topic: 'messages', body: { jsonrpc: '2.0', method: 'message.send', params: { id: `llm-hello-${n++}`, from: USER, to: [id, otherId], message: text } } })
    // Resting before the first answer means not started yet: wait for an answer, then for rest.
    await waitFor(() => linesFrom(firehose, since, id).length + linesFrom(firehose, since, otherId).length > 0, 'an answer', 30_000)
    await waitFor(restingBoth, 'the conversation to end and rest', 60_000)
    return since
  }
  const useBrain = async (setup: () => Promise<void>): Promise<void> => {
    await openPanel(tab, 'brain-panel')
    await tab.getByTestId('brain-llm').check()
    await setup()
    await tab.getByTestId('llm-test').click()
    await waitFor(async () => await tab.getByTestId('brain-outcome').getAttribute('data-ok') === 'true', 'the test button to report the model answered', 10_000)
    assert.match((await tab.getByTestId('brain-outcome').textContent())!, /the model answered in \d+ ms/)
    await tab.getByTestId('brain-save').click()
  }

  before(async () => {
    llm = await startFakeLlm()
    dataDir = await mkdtemp(join(tmpdir(), 'kotoba-relay-'))
    relay = await spawnRelay({ dataDir, args: ['--llm-url', llm.baseUrl, '--llm-key', 'sk-relay-secret', '--llm-model', 'fake-model'] })
    browser = await launchBrowser()
    tab = await browser.open(`${relay.httpUrl}?companion=aya&turn-limit=3&pace=100&vote-window=1500`)
    other = await browser.open(`${relay.httpUrl}?companion=ren&turn-limit=3&pace=100&vote-window=1500`)
    id = (await tab.getByTestId('companion-id').textContent({ timeout: 15_000 }))!
    otherId = (await other.getByTestId('companion-id').textContent({ timeout: 15_000 }))!
    await waitFor(async () => await tab.getByTestId('present-companion').count() === 1, 'the tabs to see each other', 20_000)
    firehose = await openFirehose(relay.firehoseUrl)
  })

  after(async () => {
    await firehose?.close()
    await browser?.close()
    await relay?.kill()
    await llm?.close()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('the relay prints that it proxies a model, and the page offers it', async () => {
    assert.match(relay.output(), /llm\s+http:\/\/127\.0\.0\.1:\d+\/v1 via \/api\/llm, model fake-model, with key/)
    assert.doesNotMatch(relay.output(), /sk-relay-secret/)
    assert.equal(await tab.getByTestId('brain-current').textContent(), 'built-in brain')
  })

  it('through the relay: tested, chosen, and the companion speaks the model\'s words', async () => {
    await useBrain(async () => { await tab.getByTestId('llm-via-relay').check() })
    assert.equal(await tab.getByTestId('brain-current').textContent(), 'language model via the relay (fake-model)')
    llm.requests.length = 0
    const since = await hello('Hello Aya and Ren, what are you up to?')
    const mine = linesFrom(firehose, since, id)
    assert.ok(mine.length > 0 && mine.every(l => l.message.startsWith(FAKE_LINE_PREFIX)), `Aya spoke with the model: ${JSON.stringify(mine.map(l => l.message))}`)
    assert.ok(linesFrom(firehose, since, otherId).every(l => !l.message.startsWith(FAKE_LINE_PREFIX)), 'Ren kept the built-in brain')
    assert.ok(llm.requests.length >= 2, 'judged and wrote through the relay')
    for (const r of llm.requests) {
      assert.equal(r.headers.authorization, 'Bearer sk-relay-secret', 'the relay added its key')
      assert.equal(r.body.model, 'fake-model')
    }
  })

  it('when the endpoint fails the page says so, the conversation goes on, and the message goes once it is back', async () => {
    llm.always({ status: 503, body: { error: { message: 'model is loading' } } })
    const since = await hello('Are you still there?')
    await waitFor(async () => (await tab.getByTestId('brain-error').count()) > 0, 'the brain error to show')
    assert.match((await tab.getByTestId('brain-error').textContent())!, /HTTP 503: model is loading/)
    assert.equal(linesFrom(firehose, since, id).length, 0, 'Aya listened instead of speaking')
    assert.ok(linesFrom(firehose, since, otherId).length > 0, 'Ren answered')
    llm.reset()
    await hello('And now?')
    await waitFor(async () => (await tab.getByTestId('brain-error').count()) === 0, 'the brain error to go')
  })

  it('at an endpoint of their own, with their own key; the choice survives a reload', async () => {
    await useBrain(async () => {
      await tab.getByTestId('llm-direct').check()
      await tab.getByTestId('llm-base-url').fill(llm.baseUrl)
      await tab.getByTestId('llm-model').fill('my-model')
      await tab.getByTestId('llm-key').fill('sk-page-key')
    })
    assert.equal(await tab.getByTestId('brain-current').textContent(), `language model my-model at ${llm.baseUrl}`)
    await hello('Aya, tell me something.')
    // Only requests about this line: one the relay was still forwarding when
    // the page switched (a judgement the page had given up on) may land late.
    const about = llm.requests.filter(r => JSON.stringify(r.body).includes('Aya, tell me something.'))
    assert.ok(about.length > 0)
    for (const r of about) {
      assert.equal(r.headers.authorization, 'Bearer sk-page-key')
      assert.equal(r.body.model, 'my-model')
    }
    await tab.reload()
    const current = tab.getByTestId('brain-current')
    await current.waitFor({ state: 'attached', timeout: 15_000 })
    assert.equal(await current.textContent(), `language model my-model at ${llm.baseUrl}`)
  })

  it('a bad endpoint is refused before use, with a clear message', async () => {
    await openPanel(tab, 'brain-panel')
    await tab.getByTestId('brain-llm').check()
    await tab.getByTestId('llm-direct').check()
    await tab.getByTestId('llm-base-url').fill('localhost:11434')
    await tab.getByTestId('brain-save').click()
    assert.match((await tab.getByTestId('brain-outcome').textContent())!, /base URL must start with http/)
    assert.equal(await tab.getByTestId('brain-outcome').getAttribute('data-ok'), 'false')
    assert.deepEqual(browser.consoleErrors.filter(e => !/503|Service Unavailable/.test(e)), [])
  })
})
