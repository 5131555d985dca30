import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { BRAIN_STORAGE_KEY, brainFor, describeChoice, endpointFor, loadBrainChoice, saveBrainChoice } from '../../web/brain-choice.ts'
import type { BrainChoice } from '../../web/brain-choice.ts'

const memory = (initial?: string) => {
  const map = new Map<string, string>(initial === undefined ? [] : [[BRAIN_STORAGE_KEY, initial]])
  return { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => { map.set(k, v) } }
}
const ORIGIN = 'http://192.0.2.10:8787'
const relayLlm = { path: '/api/llm', model: 'qwen' }
const direct = (baseUrl: string, model = 'llama3.2', apiKey = ''): BrainChoice => ({ kind: 'llm', via: 'direct', baseUrl, model, apiKey })

describe('brain choice', () => {
  it('defaults to the built-in brain, also when storage holds something broken', () => {
    for (const stored of [undefined, 'not json', '{"kind":"llm"}', '{"kind":"telepathy"}', '42']) {
      assert.deepEqual(loadBrainChoice(memory(stored)), { kind: 'builtin' }, String(stored))
    }
  })

  it('keeps a choice across loads', () => {
    const storage = memory()
    const choice = direct('http://127.0.0.1:11434/v1', 'llama3.2', 'sk-x')
    saveBrainChoice(storage, choice)
    assert.deepEqual(loadBrainChoice(storage), choice)
  })

  it('keeps a model in the tab across loads; the built-in brain thinks until it is ready', () => {
    const storage = memory()
    const choice: BrainChoice = { kind: 'tab', model: { name: 'tiny.gguf', url: `${ORIGIN}/models/tiny.gguf`, sha256: 'a'.repeat(64), size: 470_000 } }
    saveBrainChoice(storage, choice)
    assert.deepEqual(loadBrainChoice(storage), choice)
    assert.equal(describeChoice(choice, null), 'model tiny.gguf, in this tab')
    assert.equal(brainFor(choice, null, ORIGIN, 'seed').brain.kind, 'builtin')
    // A stored sha256 that is not one is not trusted.
    assert.deepEqual(loadBrainChoice(memory(JSON.stringify({ kind: 'tab', model: { name: 'x', url: 'http://h/x', sha256: 'nope' } }))), { kind: 'builtin' })
  })

  it('resolves the relay proxy against the page origin, and refuses it when the relay has none', () => {
    const via = { kind: 'llm', via: 'relay', baseUrl: '', model: '', apiKey: '' } as const
    assert.deepEqual(endpointFor(via, relayLlm, ORIGIN), { ok: true, endpoint: { baseUrl: `${ORIGIN}/api/llm`, model: '' } })
    const refused = endpointFor(via, null, ORIGIN)
    assert.equal(refused.ok, false)
    assert.match(!refused.ok ? refused.message : '', /--llm-url/)
  })

  const cases: Array<[string, BrainChoice, RegExp | string]> = [
    ['no scheme', direct('localhost:11434'), /must start with http/],
    ['not a URL', direct('::::'), /must start with http/],
    ['no model', direct('http://127.0.0.1:11434/v1', '  '), /name the model/],
    ['trailing slash trimmed', direct('http://127.0.0.1:11434/v1/'), 'http://127.0.0.1:11434/v1']
  ]
  for (const [name, choice, expected] of cases) {
    it(`direct endpoint: ${name}`, () => {
      const result = endpointFor(choice as Extract<BrainChoice, { kind: 'llm' }>, null, ORIGIN)
      if (typeof expected === 'string') assert.equal(result.ok && result.endpoint.baseUrl, expected)
      else assert.match(!result.ok ? result.message : 'accepted', expected)
    })
  }

  it('an unusable choice falls back to the built-in brain and says why', () => {
    const { brain, problem } = brainFor({ kind: 'llm', via: 'relay', baseUrl: '', model: '', apiKey: '' }, null, ORIGIN, 'seed')
    assert.equal(brain.kind, 'builtin')
    assert.match(problem ?? '', /^this relay has no model endpoint/)
    assert.equal(brainFor(direct('http://127.0.0.1:1/v1'), null, ORIGIN, 'seed').brain.kind, 'llm')
    assert.equal(describeChoice({ kind: 'llm', via: 'relay', baseUrl: '', model: '', apiKey: '' }, relayLlm), 'language model via the relay (qwen)')
  })
})
