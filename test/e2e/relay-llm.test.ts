/**
 * The relay's `/api/llm` proxy, in-process on loopback, in front of a tiny
 * OpenAI-compatible server: the key stays on the relay, the model is the
 * relay's, limits and failures answer with OpenAI-shaped errors, and the
 * LLM brain works through it exactly as a page uses it.
 */
import { after, before, beforeEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateCard } from '../../companion/presets.ts'
import { createLlmBrain } from '../../companion/llm-brain.ts'
import { seededRandom } from '../../companion/random.ts'
import { resolveOptions } from '../../relay/options.ts'
import type { RelayOptions } from '../../relay/options.ts'
import { startRelay } from '../../relay/relay.ts'
import type { RelayHandle } from '../../relay/relay.ts'
import { startFakeLlm } from '../helpers/fake-llm.ts'
import type { FakeLlm, Scripted } from '../helpers/fake-llm.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { REFUSING_PORT } from '../helpers/ports.ts'
import { SILENT } from '../../p2p/logger.ts'

const skip = networkSkipReason()

describe('the relay proxies a model endpoint at /api/llm', { skip }, () => {
  let llm: FakeLlm
  let dataDir: string
  const relays: RelayHandle[] = []
  const start = async (options: Partial<RelayOptions>): Promise<string> => {
    const relay = await startRelay(resolveOptions({ host: '127.0.0.1', port: 0, mdns: false, dataDir: join(dataDir, String(relays.length)), ...options }), { log: SILENT })
    relays.push(relay)
    return `http://127.0.0.1:${relay.httpPort}`
  }
  let base: string
  const post = async (body: unknown, init: RequestInit = {}): Promise<Response> =>
    await fetch(`${base}/api/llm/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body), ...init })
  const errorOf = async (response: Response): Promise<{ status: number, message: string, type: string }> => {
    const json = await response.json() as { error: { message: string, type: string } }
    return { status: response.status, ...json.error }
  }
  // A page through the relay names no model: the relay's is used.
  const chat = { messages: [{ role: 'user', content: 'Say ok' }] }

  before(async () => {
    llm = await startFakeLlm()
    dataDir = await mkdtemp(join(tmpdir(), 'kotoba-llm-'))
    // The limits per client are tested on a relay of their own (below): here every test comes from 127.0.0.1.
    base = await start({ llmUrl: llm.baseUrl, llmKey: 'sk-relay-secret', llmModel: 'relay-model', llmTimeoutMs: 1000, llmRate: 100_000 })
  })
  after(async () => {
    for (const relay of relays) await relay.close()
    await llm.close()
    await rm(dataDir, { recursive: true, force: true })
  })
  beforeEach(() => { llm.reset(); llm.requests.length = 0 })

  it('forwards with the relay key and model; the page learns the path and model from /api/relay', async () => {
    const info = await (await fetch(`${base}/api/relay`)).json() as { llm: unknown }
    assert.deepEqual(info.llm, { path: '/api/llm', model: 'relay-model' })
    const response = await post(chat, { headers: { 'content-type': 'application/json', authorization: 'Bearer page-guess' } })
    assert.equal(response.status, 200)
    const answer = await response.json() as { choices: Array<{ message: { content: string } }> }
    assert.match(answer.choices[0].message.content, /\{"ok":true\}/, 'the endpoint\'s answer, unchanged')
    const [seen] = llm.requests
    assert.equal(seen.headers.authorization, 'Bearer sk-relay-secret', 'the relay adds its own key')
    assert.equal(seen.body.model, 'relay-model', 'the relay model is asked for')
    assert.deepEqual(seen.body.messages, chat.messages)
    assert.ok(!JSON.stringify(info).includes('sk-relay-secret'), 'the key is never shown to pages')
  })

  it('the LLM brain works through the proxy with no key and no model of its own', async () => {
    const aya = generateCard(seededRandom(1), 'aya')
    const hello = { id: 'm1', from: 'user_abcd1234', to: [aya.id], text: 'Hi Aya' }
    const brain = createLlmBrain({ baseUrl: `${base}/api/llm`, model: '' })
    const judgement = await brain.judge({ card: aya, companions: [], history: [hello], nameOf: id => id }, { message: hello, selected: true, conversation: { lines: 1, closing: 'none', resting: false } }, new AbortController().signal)
    assert.equal(judgement.state, 'speak')
    assert.equal(llm.requests[0].body.response_format.json_schema.name, 'judgement', 'structured output passes through')
  })

  it('passes the endpoint\'s own errors through, status and body', async () => {
    llm.script({ status: 429, body: { error: { message: 'slow down', type: 'rate_limit_error' } }, headers: { 'retry-after': '2' } })
    const response = await post(chat)
    assert.equal(response.headers.get('retry-after'), '2')
    assert.deepEqual(await errorOf(response), { status: 429, message: 'slow down', type: 'rate_limit_error' })
  })

  it('refuses bad requests with a clear error, without asking the endpoint', async () => {
    const notJson = await errorOf(await post('{not json'))
    assert.equal(notJson.status, 400)
    assert.equal(notJson.type, 'invalid_request_error')
    assert.match(notJson.message, /^the body is not JSON: /)
    assert.equal((await errorOf(await post([1, 2]))).message, 'the body must be a JSON object')
    assert.match((await errorOf(await post({ ...chat, stream: true }))).message, /streaming is not supported/)
    assert.equal((await post({ ...chat, padding: 'x'.repeat(300 * 1024) })).status, 413)
    assert.equal((await fetch(`${base}/api/llm/chat/completions`)).status, 405)
    assert.equal((await post(chat, { headers: { 'content-type': 'text/plain' } })).status, 415)
    assert.equal(llm.requests.length, 0)
  })

  it('answers 504 when the endpoint hangs and 502 when it is down', async () => {
    llm.script({ hang: true })
    assert.deepEqual(await errorOf(await post(chat)), { status: 504, message: 'the model endpoint did not answer within 1 s', type: 'upstream_timeout' })
    const down = await start({ llmUrl: `http://127.0.0.1:${REFUSING_PORT}/v1` })
    const response = await fetch(`${down}/api/llm/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...chat, model: 'm' }) })
    const error = await errorOf(response)
    assert.equal(error.status, 502)
    assert.match(error.message, /^the relay could not reach its model endpoint \(.*ECONNREFUSED/)
  })

  it('keeps at most 8 requests in flight and tells the ninth to come back', async () => {
    llm.always({ hang: true })
    const hanging = Array.from({ length: 8 }, async () => await post(chat))
    await new Promise(resolve => setTimeout(resolve, 200))
    const ninth = await post(chat)
    assert.equal(ninth.status, 429)
    assert.equal(ninth.headers.get('retry-after'), '1')
    assert.match((await errorOf(ninth)).message, /8 model requests are already in flight/)
    const statuses = (await Promise.all(hanging)).map(r => r.status)
    assert.deepEqual(statuses, Array(8).fill(504))
  })

  it('with a key, the relay asks for its own model only: a request naming another is refused', async () => {
    assert.equal((await post({ ...chat, model: 'relay-model' })).status, 200)
    const other = await errorOf(await post({ ...chat, model: 'gpt-4-32k' }))
    assert.deepEqual(other, { status: 400, message: 'this relay asks for its own model only (relay-model), not gpt-4-32k', type: 'invalid_request_error' })
    assert.equal(llm.requests.length, 1)
  })

  it('is for companions: 40 essays from one client reach the endpoint at most a burst at once, none asking more than the cap', async () => {
    const guarded = await start({ llmUrl: llm.baseUrl, llmKey: 'sk-relay-secret', llmModel: 'relay-model' })
    const ask = async (body: unknown): Promise<Response> => await fetch(`${guarded}/api/llm/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const essay = { messages: [{ role: 'user', content: 'Write a 4000-token essay on everything.' }], max_tokens: 4000 }
    // Naming a model of their own: refused, nothing reaches the endpoint.
    for (let i = 0; i < 40; i++) assert.equal((await ask({ ...essay, model: 'gpt-4-32k' })).status, 400)
    assert.equal(llm.requests.length, 0)
    // Naming none: a burst's worth gets through (and the rate's refill while they ran), capped; the rest are told to come back.
    const started = Date.now()
    const responses = []
    for (let i = 0; i < 40; i++) responses.push(await ask(essay))
    const elapsedS = (Date.now() - started) / 1000
    const passed = responses.filter(r => r.status === 200)
    const refused = responses.filter(r => r.status === 429)
    assert.equal(passed.length + refused.length, 40)
    // A burst is 12; the rate (120 a minute) adds 2 a second while they run.
    assert.ok(passed.length >= 12 && passed.length <= 12 + Math.ceil(2 * elapsedS), `${passed.length} of 40 went through in ${elapsedS} s`)
    assert.equal(llm.requests.length, passed.length)
    assert.ok(llm.requests.every(r => r.body.max_tokens === 512), 'every request forwarded asks 512 tokens at most')
    assert.match(passed[0].headers.get('x-kotoba-max-tokens') ?? '', /^512 \(asked 4000/)
    const error = await errorOf(refused[0])
    assert.equal(error.type, 'rate_limit_error')
    assert.match(error.message, /more than 120 model requests a minute \(bursts of 12\)/)
    assert.ok(Number(refused[0].headers.get('retry-after')) >= 1)
    const health = await (await fetch(`${guarded}/healthz`)).json() as { llm: { forwarded: number, capped: number, refused: { rate: number, model: number } } }
    assert.equal(health.llm.forwarded, passed.length)
    assert.equal(health.llm.capped, passed.length)
    assert.equal(health.llm.refused.rate, refused.length)
    assert.equal(health.llm.refused.model, 40)
  })

  it('keeps to its token budget an hour, all clients together', async () => {
    // A request reserves what it may write (here 100 tokens) and its prompt; its answer's usage counts instead.
    const budgeted = await start({ llmUrl: llm.baseUrl, llmBudget: 250, llmRate: 100_000 })
    const ask = async (): Promise<Response> => await fetch(`${budgeted}/api/llm/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 100 }) })
    const spent = (total: number): Scripted => ({ status: 200, body: { choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { total_tokens: total } } })
    llm.script(spent(90), spent(90))
    assert.equal((await ask()).status, 200)
    assert.equal((await ask()).status, 200)
    // 180 spent: another 100 and its prompt would pass 250.
    const over = await ask()
    assert.equal(over.status, 429)
    assert.match((await errorOf(over)).message, /the relay's model budget of 250 tokens an hour is spent; try again in \d+ s/)
    assert.ok(Number(over.headers.get('retry-after')) > 3000, 'the budget frees when the hour is over')
    assert.equal(llm.requests.length, 2)
  })

  it('a relay without --llm-url says so: 503, and /api/relay shows llm: null', async () => {
    const plain = await start({})
    assert.equal(((await (await fetch(`${plain}/api/relay`)).json()) as { llm: unknown }).llm, null)
    const response = await fetch(`${plain}/api/llm/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chat) })
    assert.deepEqual(await errorOf(response), { status: 503, message: 'this relay has no model endpoint: start it with --llm-url', type: 'not_configured' })
  })
})
