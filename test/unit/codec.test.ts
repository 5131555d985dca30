import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { decodePayload, encodePayload, validatePayload } from '../../protocol/codec.ts'
import { MAX_PAYLOAD_BYTES, TOPICS } from '../../protocol/topics.ts'

const message = {
  jsonrpc: '2.0',
  method: 'message.send',
  params: { id: 'm1', from: 'user_yamada', to: ['companion_aya'], message: 'Hello Aya!' }
}
const action = {
  jsonrpc: '2.0', method: 'action.send', params: { from: 'companion_aya', name: 'gesture', params: { type: 'wave' } }
}
const state = {
  jsonrpc: '2.0',
  method: 'state.send',
  params: { from: 'companion_aya', messageId: 'm1', state: 'speak', importance: 7, selected: true, closing: 'none' }
}
const query = { jsonrpc: '2.0', method: 'query.send', id: 'q1', params: { from: 'companion_aya', type: 'speak', body: { text: 'hi' } } }
const result = { jsonrpc: '2.0', id: 'q1', result: { success: true, body: { spoken: true } } }
const failedResult = { jsonrpc: '2.0', id: 'q1', error: 'no speaker' }

const valid: Array<[string, string, unknown]> = [
  ['messages', 'aikyo message.send', message],
  ['messages', 'with metadata', { ...message, params: { ...message.params, metadata: { emotion: 'happy' } } }],
  ['messages', 'seed form without envelope', message.params],
  ['messages', 'unknown extra fields are kept', { ...message, extra: 1 }],
  ['actions', 'action.send', action],
  ['states', 'single state', state],
  ['states', 'aikyo leader array', [state, { ...state, params: { ...state.params, from: 'companion_kyoko', state: 'listen', importance: 0, selected: false } }]],
  ['states', 'closing omitted defaults to none', { ...state, params: { ...state.params, closing: undefined } }],
  ['queries', 'query.send', query],
  ['queries', 'newer aikyo result on queries', result],
  ['query-results', 'success result', result],
  ['query-results', 'error result', failedResult]
]

const invalid: Array<[string, string, unknown, RegExp]> = [
  ['messages', 'missing to', { ...message, params: { ...message.params, to: undefined } }, /to/],
  ['messages', 'wrong method', { ...message, method: 'action.send' }, /method/],
  ['messages', 'wrong jsonrpc version', { ...message, jsonrpc: '1.0' }, /jsonrpc/],
  ['messages', 'seed form with numeric message', { ...message.params, message: 42 }, /message/],
  ['messages', 'not an object', 'hello', /message/],
  ['actions', 'params not an object', { ...action, params: { ...action.params, params: 'wave' } }, /params/],
  ['states', 'importance above 10', { ...state, params: { ...state.params, importance: 11 } }, /importance/],
  ['states', 'unknown state', { ...state, params: { ...state.params, state: 'shout' } }, /state/],
  ['states', 'bad closing stage', { ...state, params: { ...state.params, closing: 'done' } }, /closing/],
  ['states', 'bad item in array names its index', [state, { ...state, params: {} }], /index 1/],
  ['queries', 'query without id', { ...query, id: undefined }, /id/],
  ['query-results', 'result body missing', { ...result, result: { success: true } }, /body/],
  ['query-results', 'a query is not a result', { jsonrpc: '2.0', method: 'query.send' }, /id/]
]

describe('validatePayload', () => {
  for (const [topic, name, value] of valid) {
    it(`accepts on ${topic}: ${name}`, () => {
      const decoded = validatePayload(topic, value)
      assert.equal(decoded.ok, true, decoded.ok ? '' : decoded.message)
    })
  }
  for (const [topic, name, value, pattern] of invalid) {
    it(`refuses on ${topic}: ${name}`, () => {
      const decoded = validatePayload(topic, value)
      assert.equal(decoded.ok, false)
      if (decoded.ok) return
      assert.equal(decoded.code, 'invalid')
      assert.match(decoded.message, pattern)
    })
  }

  it('normalises the seed form to message.send', () => {
    const decoded = validatePayload('messages', message.params)
    assert.ok(decoded.ok)
    assert.deepEqual(decoded.payload, message)
  })

  it('always yields states as an array', () => {
    const decoded = validatePayload('states', state)
    assert.ok(decoded.ok)
    assert.equal(decoded.payload.length, 1)
    assert.equal(decoded.payload[0].params.from, 'companion_aya')
  })

  it('refuses an unknown topic and lists the real ones', () => {
    const decoded = validatePayload('chat', message)
    assert.equal(decoded.ok, false)
    if (decoded.ok) return
    assert.equal(decoded.code, 'unknown-topic')
    for (const topic of TOPICS) assert.match(decoded.message, new RegExp(topic))
  })
})

describe('decodePayload', () => {
  it('round-trips what encodePayload wrote', () => {
    const decoded = decodePayload('messages', encodePayload(message))
    assert.ok(decoded.ok)
    assert.deepEqual(decoded.payload, message)
  })

  it('accepts text as well as bytes', () => {
    assert.ok(decodePayload('actions', JSON.stringify(action)).ok)
  })

  const broken: Array<[string, Uint8Array | string, string, RegExp]> = [
    ['not JSON', 'hello {', 'invalid', /not JSON/],
    ['truncated JSON', JSON.stringify(message).slice(0, -2), 'invalid', /not JSON/],
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 'invalid', /UTF-8/],
    ['empty', '', 'invalid', /not JSON/],
    ['JSON null', 'null', 'invalid', /message/],
    ['over the size cap', JSON.stringify({ ...message, params: { ...message.params, message: 'x'.repeat(MAX_PAYLOAD_BYTES) } }), 'too-large', /limit/]
  ]
  for (const [name, data, code, pattern] of broken) {
    it(`refuses ${name} without throwing`, () => {
      const decoded = decodePayload('messages', data)
      assert.equal(decoded.ok, false)
      if (decoded.ok) return
      assert.equal(decoded.code, code)
      assert.match(decoded.message, pattern)
    })
  }

  it('never throws on random bytes', () => {
    let seed = 42
    const random = (): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed }
    for (let i = 0; i < 2000; i++) {
      const bytes = new Uint8Array(random() % 64).map(() => random() & 0xff)
      const topic = TOPICS[random() % TOPICS.length]
      assert.doesNotThrow(() => decodePayload(topic, bytes))
    }
  })
})
