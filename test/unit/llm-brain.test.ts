/**
 * The LLM brain and its chat-completions client against a tiny
 * OpenAI-compatible server on loopback: structured requests, answers
 * checked, retries, timeouts, and errors a person can read.
 */
import { after, before, beforeEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { BrainError } from '../../companion/brain.ts'
import type { BrainContext, JudgeRequest, WriteRequest } from '../../companion/brain.ts'
import { generateCard } from '../../companion/presets.ts'
import { createLlmBrain } from '../../companion/llm-brain.ts'
import { extractJsonObject } from '../../companion/chat-completions.ts'
import type { ChatEndpoint } from '../../companion/chat-completions.ts'
import { seededRandom } from '../../companion/random.ts'
import { REFUSING_PORT } from '../helpers/ports.ts'
import { FAKE_LINE_PREFIX, startFakeLlm } from '../helpers/fake-llm.ts'
import type { FakeLlm } from '../helpers/fake-llm.ts'

const aya = generateCard(seededRandom(1), 'aya')
const ren = generateCard(seededRandom(2), 'ren')
const hello = { id: 'm1', from: 'user_abcd1234', to: [aya.id, ren.id], text: 'Hello Aya! How are you?' }
const context: BrainContext = {
  card: aya,
  companions: [ren],
  history: [hello],
  nameOf: (id) => id === aya.id ? aya.name : id === ren.id ? ren.name : 'Yamada'
}
const judgeRequest: JudgeRequest = { message: hello, selected: true, conversation: { lines: 1, closing: 'none', resting: false } }
const writeRequest: WriteRequest = {
  replyTo: hello,
  vote: { from: aya.id, state: 'speak', importance: 9, selected: true, closing: 'none' },
  greet: null,
  conversation: { lines: 1, closing: 'none', resting: false }
}
const signal = (): AbortSignal => new AbortController().signal

async function brainError (promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (err) {
    assert.ok(err instanceof BrainError, `expected a BrainError, got ${String(err)}`)
    return err.message
  }
  assert.fail('expected a BrainError')
}

describe('LLM brain against an OpenAI-compatible server', () => {
  let llm: FakeLlm
  let endpoint: ChatEndpoint
  before(async () => { llm = await startFakeLlm() })
  after(async () => { await llm.close() })
  beforeEach(() => {
    llm.reset()
    llm.requests.length = 0
    endpoint = { baseUrl: llm.baseUrl, model: 'tiny-model', apiKey: 'sk-test', timeoutMs: 2000, retries: 2, backoffMs: 10 }
  })

  it('judges with a structured request and returns the checked judgement', async () => {
    const judgement = await createLlmBrain(endpoint).judge(context, judgeRequest, signal())
    assert.deepEqual(judgement, { state: 'speak', importance: 5, closing: 'none' })
    const [request] = llm.requests
    assert.equal(request.path, '/v1/chat/completions')
    assert.equal(request.headers.authorization, 'Bearer sk-test')
    assert.equal(request.body.model, 'tiny-model')
    assert.equal(request.body.stream, false)
    assert.equal(request.body.response_format.type, 'json_schema')
    assert.equal(request.body.response_format.json_schema.name, 'judgement')
    assert.equal(request.body.response_format.json_schema.strict, true)
    assert.deepEqual(request.body.response_format.json_schema.schema.required, ['state', 'importance', 'closing'])
    const prompt = JSON.stringify(request.body.messages)
    assert.match(prompt, new RegExp(aya.name), 'the card is the character')
    assert.match(prompt, /Hello Aya! How are you\?/, 'the line to judge is in the prompt')
    assert.match(prompt, /asks you by name/)
  })

  it('writes a line: addressees limited to the conversation, emotion and gesture as actions', async () => {
    const line = await createLlmBrain(endpoint).write(context, writeRequest, signal())
    assert.ok(line.text.startsWith(FAKE_LINE_PREFIX), line.text)
    assert.deepEqual(line.to, ['user_abcd1234'])
    assert.equal(line.emotion, 'happy')
    assert.deepEqual(line.actions, [{ name: 'gesture', params: { gesture: 'nod' } }, { name: 'emotion', params: { emotion: 'happy' } }])
    const schema = llm.requests[0].body.response_format.json_schema.schema
    assert.deepEqual(schema.properties.to.items.enum.sort(), ['user_abcd1234', ren.id].sort(), 'only ids in the conversation can be chosen')
  })

  it('repairs what a model may get wrong: unknown ids, emotions and gestures, a rambling text', async () => {
    llm.script({ content: JSON.stringify({ text: `  ${'So much to say. '.repeat(60)}`, to: ['companion_nobody', ren.id], emotion: 'ecstatic', gesture: 'backflip' }) })
    const line = await createLlmBrain(endpoint).write(context, writeRequest, signal())
    assert.deepEqual(line.to, [ren.id])
    assert.equal(line.emotion, 'neutral')
    assert.deepEqual(line.actions, [{ name: 'emotion', params: { emotion: 'neutral' } }])
    assert.ok(line.text.length <= 600 && line.text.endsWith('.'), `clipped at a sentence: ${line.text.length} chars`)
    llm.script({ content: JSON.stringify({ text: 'Hi!', to: [], emotion: 'sad', gesture: 'none' }) })
    assert.deepEqual((await createLlmBrain(endpoint).write(context, writeRequest, signal())).to.sort(), ['user_abcd1234', ren.id].sort(), 'nobody named: everyone in the conversation')
  })

  it('retries server errors and rate limits with backoff, then succeeds', async () => {
    llm.script({ status: 500 }, { status: 429, headers: { 'retry-after': '0' } })
    const judgement = await createLlmBrain(endpoint).judge(context, judgeRequest, signal())
    assert.equal(judgement.state, 'speak')
    assert.equal(llm.requests.length, 3)
  })

  it('gives up after the retries with a message that names the endpoint and the status', async () => {
    llm.always({ status: 503, body: { error: { message: 'model is loading' } } })
    const message = await brainError(createLlmBrain(endpoint).judge(context, judgeRequest, signal()))
    assert.match(message, /127\.0\.0\.1:\d+\/v1\/chat\/completions failed \(HTTP 503: model is loading\) \(after 3 attempts\)/)
    assert.equal(llm.requests.length, 3)
  })

  it('does not retry a refused key', async () => {
    llm.always({ status: 401, body: { error: { message: 'Incorrect API key provided' } } })
    const message = await brainError(createLlmBrain(endpoint).write(context, writeRequest, signal()))
    assert.match(message, /refused the key \(HTTP 401: Incorrect API key provided\)$/)
    assert.equal(llm.requests.length, 1)
  })

  it('times out an endpoint that does not answer', async () => {
    llm.always({ hang: true })
    const started = Date.now()
    const message = await brainError(createLlmBrain({ ...endpoint, timeoutMs: 300, retries: 1 }).judge(context, judgeRequest, signal()))
    assert.match(message, /\/v1\/chat\/completions did not answer within 300 ms \(after 2 attempts\)$/)
    assert.ok(Date.now() - started < 5000)
    assert.equal(llm.requests.length, 2)
  })

  it('says so when nothing listens at the URL', async () => {
    const port = REFUSING_PORT
    const message = await brainError(createLlmBrain({ ...endpoint, baseUrl: `http://127.0.0.1:${port}/v1`, retries: 0 }).judge(context, judgeRequest, signal()))
    assert.match(message, new RegExp(`could not reach http://127\\.0\\.0\\.1:${port}/v1/chat/completions`))
  })

  it('asks again when the answer does not fit the schema, and reports it if it never does', async () => {
    llm.script({ content: '{"state":"shout","importance":3}' })
    assert.equal((await createLlmBrain(endpoint).judge(context, judgeRequest, signal())).state, 'speak')
    llm.always({ content: 'I would rather not answer in JSON.' })
    const message = await brainError(createLlmBrain(endpoint).judge(context, judgeRequest, signal()))
    assert.match(message, /the model's judgement does not fit/)
    llm.always({ status: 200, body: '<html>proxy login</html>' })
    assert.match(await brainError(createLlmBrain({ ...endpoint, retries: 0 }).judge(context, judgeRequest, signal())), /did not answer like a chat-completions endpoint/)
  })

  it('falls back to a plain request when the server refuses response_format, and reads fenced JSON', async () => {
    llm.script({ status: 400, body: { error: { message: "Unrecognized request argument supplied: response_format" } } })
    const judgement = await createLlmBrain(endpoint).judge(context, judgeRequest, signal())
    assert.equal(judgement.state, 'speak')
    assert.equal(llm.requests.length, 2)
    assert.equal(llm.requests[1].body.response_format, undefined)
    assert.deepEqual(extractJsonObject('Sure:\n```json\n{"a":1}\n```'), { a: 1 })
  })

  it('an aborted request rejects with the abort, not a BrainError (nobody needs telling)', async () => {
    llm.always({ hang: true })
    const controller = new AbortController()
    const pending = createLlmBrain(endpoint).judge(context, judgeRequest, controller.signal)
    setTimeout(() => { controller.abort() }, 50)
    await assert.rejects(pending, (err: Error) => err.name === 'AbortError')
  })
})
