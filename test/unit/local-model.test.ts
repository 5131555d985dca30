/**
 * A model that runs here: the queue and deadlines of `wllamaModel` (over a
 * stand-in engine), the checked answers of `completeLocally`, and the real
 * engine (@wllama/wllama in a worker thread) thinking with the tiny test
 * model through the local brain: every answer parses.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Wllama } from '@wllama/wllama/esm/index.js'
import * as v from 'valibot'
import { BrainError } from '../../companion/brain.ts'
import type { Brain, BrainContext } from '../../companion/brain.ts'
import { createBuiltinBrain } from '../../companion/builtin-brain.ts'
import { createLocalBrain } from '../../companion/llm-brain.ts'
import { completeLocally, wllamaModel } from '../../companion/local-model.ts'
import type { LocalModel } from '../../companion/local-model.ts'
import type { HistoryLine } from '../../companion/turn-state.ts'
import { loadModelFile } from '../../headless/model-file.ts'
import { tinyGguf } from '../helpers/tiny-gguf.ts'

interface Call { content: string, wait: number, fail?: string }

/** An engine that answers each call with the next scripted content, after its wait. */
function scriptedEngine (calls: Call[]): { engine: Wllama, started: string[] } {
  const started: string[] = []
  const engine = {
    createChatCompletion: async (options: { abortSignal: AbortSignal }) => {
      const call = calls.shift()
      if (call === undefined) throw new Error('no more answers')
      started.push(call.content)
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, call.wait)
        options.abortSignal.addEventListener('abort', () => { clearTimeout(timer); reject(options.abortSignal.reason as Error) }, { once: true })
      })
      if (call.fail !== undefined) throw new Error(call.fail)
      return { choices: [{ message: { content: call.content } }], usage: { completion_tokens: 3 } }
    },
    exit: async () => {}
  }
  return { engine: engine as unknown as Wllama, started }
}

const request = { messages: [{ role: 'user' as const, content: 'hi' }], jsonSchema: {}, name: 'x', maxTokens: 10, temperature: 0 }
const never = new AbortController().signal

describe('a model that runs here answers one request at a time', () => {
  it('requests queue: the second starts when the first is done', async () => {
    const { engine, started } = scriptedEngine([{ content: 'one', wait: 50 }, { content: 'two', wait: 0 }])
    const model = wllamaModel(engine, 'm.gguf')
    const first = model.answer(request, never)
    const second = model.answer(request, never)
    await new Promise(resolve => setTimeout(resolve, 20))
    assert.deepEqual(started, ['one'])
    assert.equal((await first).text, 'one')
    assert.equal((await second).text, 'two')
  })

  it('a request abandoned while it waits never runs', async () => {
    const { engine, started } = scriptedEngine([{ content: 'one', wait: 30 }, { content: 'two', wait: 0 }, { content: 'three', wait: 0 }])
    const model = wllamaModel(engine, 'm.gguf')
    const abandon = new AbortController()
    const first = model.answer(request, never)
    const second = model.answer(request, abandon.signal)
    const third = model.answer(request, never)
    abandon.abort(new Error('the turn moved on'))
    await assert.rejects(second, /the turn moved on/)
    assert.equal((await first).text, 'one')
    assert.equal((await third).text, 'two')
    assert.deepEqual(started, ['one', 'two'])
  })

  it('a slow answer fails with a BrainError at the deadline, waiting time included', async () => {
    const { engine } = scriptedEngine([{ content: 'slow', wait: 200 }, { content: 'late', wait: 0 }])
    const model = wllamaModel(engine, 'm.gguf', 100)
    const first = model.answer(request, never)
    const second = model.answer(request, never)
    await assert.rejects(first, (err: Error) => err instanceof BrainError && /the model m\.gguf did not answer within 0 s/.test(err.message))
    // It waited behind the first for the whole deadline.
    await assert.rejects(second, BrainError)
  })

  it('an engine failure is a BrainError naming the model', async () => {
    const { engine } = scriptedEngine([{ content: '', wait: 0, fail: 'wllama has crashed, please reload the module' }])
    await assert.rejects(wllamaModel(engine, 'm.gguf').answer(request, never), (err: Error) => err instanceof BrainError && /the model m\.gguf failed: wllama has crashed/.test(err.message))
  })
})

describe('completeLocally', () => {
  const Answer = v.object({ state: v.picklist(['speak', 'listen']) })
  const scripted = (...texts: string[]): LocalModel => ({
    name: 'm.gguf',
    answer: async () => ({ text: texts.shift() ?? '', tokens: 1, ms: 1 }),
    unload: async () => {}
  })

  it('returns the checked answer, and asks once more when it does not fit', async () => {
    assert.deepEqual(await completeLocally(scripted('{"state":"speak"}'), { name: 'judgement', messages: [], schema: Answer }, never), { state: 'speak' })
    assert.deepEqual(await completeLocally(scripted('{"state":"shout"}', '{"state":"listen"}'), { name: 'judgement', messages: [], schema: Answer }, never), { state: 'listen' })
    await assert.rejects(completeLocally(scripted('{"state":"shout"}', 'nothing'), { name: 'judgement', messages: [], schema: Answer }, never),
      (err: Error) => err instanceof BrainError && /the model's judgement does not fit .*\(after 2 attempts\)/.test(err.message))
  })
})

describe('the local brain with the tiny test model in the real engine', () => {
  let dir: string
  let model: LocalModel
  const card = { id: 'companion_ren', name: 'Ren', personality: 'quick and cheerful', story: 'Runs the corner bakery.', sample: 'Fresh bread at six!' }
  const other = { id: 'companion_kyoko', name: 'Kyoko', personality: 'calm', story: 'A librarian.', sample: 'Hm.' }
  const question: HistoryLine = { id: 'line-1', from: 'user_reader', to: [card.id], text: 'Ren, what are you baking today?' } as HistoryLine
  const context: BrainContext = { card, companions: [other], history: [question], nameOf: id => id === card.id ? 'Ren' : id === other.id ? 'Kyoko' : 'Reader' }
  const conversation = { lines: 1, closing: 'none', resting: false } as const

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kotoba-local-model-'))
    await writeFile(join(dir, 'tiny.gguf'), tinyGguf(3).bytes)
    model = (await loadModelFile(join(dir, 'tiny.gguf'))).model
  })
  after(async () => {
    await model?.unload()
    await rm(dir, { recursive: true, force: true })
  })

  it('every judgement and every line it writes parses and fits', async () => {
    const brain = createLocalBrain(model, createBuiltinBrain({ seed: 'x' }), 60_000)
    assert.equal(brain.kind, 'local')
    for (let i = 0; i < 5; i++) {
      const judgement = await brain.judge(context, { message: question, selected: false, conversation }, never)
      assert.ok(['speak', 'listen'].includes(judgement.state))
      assert.ok(Number.isInteger(judgement.importance) && judgement.importance >= 0 && judgement.importance <= 10, `importance ${judgement.importance}`)
      const line = await brain.write(context, { replyTo: question, vote: null, greet: null, conversation }, never)
      assert.ok(line.text.trim().length > 0 && line.text.length <= 400, `a line: ${JSON.stringify(line.text)}`)
      assert.ok(line.to.length > 0 && line.to.every(id => [question.from, other.id].includes(id)), `addressees ${line.to.join(',')}`)
    }
  })
})

describe('the local brain judges in time', () => {
  const card = { id: 'companion_ren', name: 'Ren', personality: 'quick and cheerful', story: 'Bakes.', sample: 'Bread!' }
  const line: HistoryLine = { id: 'line-1', from: 'user_reader', to: [], text: 'Nice weather today.' } as HistoryLine
  const context: BrainContext = { card, companions: [], history: [line], nameOf: id => id }
  const conversation = { lines: 1, closing: 'none', resting: false } as const
  /** A model that judges `speak 7` after `delay` ms (or never, stopping when told), and counts its calls. */
  const judging = (delay: number): LocalModel & { calls: number, stopped: number } => {
    const model = {
      name: 'm.gguf',
      calls: 0,
      stopped: 0,
      answer: async (_request: unknown, signal: AbortSignal) => {
        model.calls++
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, delay)
          signal.addEventListener('abort', () => { clearTimeout(timer); model.stopped++; reject(signal.reason as Error) }, { once: true })
        })
        return { text: '{"state":"speak","importance":7,"closing":"none"}', tokens: 10, ms: delay }
      },
      unload: async () => {}
    }
    return model
  }
  const quick: Brain = { kind: 'builtin', judge: async () => ({ state: 'listen', importance: 0, closing: 'pre-closing' }), write: async () => { throw new Error('unused') } }

  it('the model judges when it is quick enough', async () => {
    const model = judging(10)
    assert.deepEqual(await createLocalBrain(model, quick, 500).judge(context, { message: line, selected: false, conversation }, never), { state: 'speak', importance: 7, closing: 'none' })
  })

  it('a model too slow to judge is stopped, and the quick brain judges', async () => {
    const model = judging(5000)
    const started = Date.now()
    assert.deepEqual(await createLocalBrain(model, quick, 50).judge(context, { message: line, selected: false, conversation }, never), { state: 'listen', importance: 0, closing: 'pre-closing' })
    assert.ok(Date.now() - started < 1000)
    assert.equal(model.stopped, 1, 'the model stopped, free to write')
  })

  it('a line that names it is judged at once, without the model', async () => {
    const model = judging(10)
    assert.equal((await createLocalBrain(model, quick, 500).judge(context, { message: line, selected: true, conversation }, never)).closing, 'pre-closing')
    assert.equal(model.calls, 0)
  })

  it('a model that fails still says so (no quiet fallback)', async () => {
    const broken: LocalModel = { name: 'm.gguf', answer: async () => { throw new BrainError('the model m.gguf failed: crashed') }, unload: async () => {} }
    await assert.rejects(createLocalBrain(broken, quick, 500).judge(context, { message: line, selected: false, conversation }, never), /crashed/)
  })
})
