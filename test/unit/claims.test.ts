import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createIdClaims, impersonated, speakersOf } from '../../protocol/claims.ts'
import { decodePayload } from '../../protocol/codec.ts'
import type { TopicPayloads } from '../../protocol/payloads.ts'
import type { Topic } from '../../protocol/topics.ts'

const decoded = <T extends Topic>(topic: T, value: unknown): TopicPayloads[T] => {
  const result = decodePayload(topic, new TextEncoder().encode(JSON.stringify(value)))
  if (!result.ok) throw new Error(result.message)
  return result.payload as TopicPayloads[T]
}
const vote = (from: string, messageId?: string): unknown => ({ jsonrpc: '2.0', method: 'state.send', params: { from, state: 'listen', importance: 1, selected: false, closing: 'none', ...(messageId === undefined ? {} : { messageId }) } })

describe('who holds a companion id', () => {
  it('the first peer presenting an id holds it while it presents it; a second one is a twin', () => {
    const claims = createIdClaims()
    assert.deepEqual(claims.update(new Map([['peerA', 'companion_aya']])), [])
    assert.equal(claims.holder('companion_aya'), 'peerA')
    assert.deepEqual(claims.update(new Map([['peerA', 'companion_aya'], ['peerB', 'companion_aya']])), [{ peer: 'peerB', id: 'companion_aya', holder: 'peerA' }])
    assert.equal(claims.holder('companion_aya'), 'peerA', 'the twin takes nothing')
    // The holder goes: the id is free, and the one still presenting it holds it now.
    assert.deepEqual(claims.update(new Map([['peerB', 'companion_aya']])), [])
    assert.equal(claims.holder('companion_aya'), 'peerB')
    // A holder that presents another id (a card edited keeps its id; this is another card) lets the first go.
    claims.update(new Map([['peerB', 'companion_ren']]))
    assert.equal(claims.holder('companion_aya'), undefined)
    assert.equal(claims.holder('companion_ren'), 'peerB')
  })

  it('what a payload speaks as: the from of a line, an action, a query and each vote; a decision and a result speak as nobody; persons are not claimed', () => {
    assert.deepEqual(speakersOf('messages', decoded('messages', { jsonrpc: '2.0', method: 'message.send', params: { id: 'm1', from: 'companion_aya', to: [], message: 'hi' } })), ['companion_aya'])
    assert.deepEqual(speakersOf('messages', decoded('messages', { jsonrpc: '2.0', method: 'message.send', params: { id: 'm1', from: 'user_kim', to: [], message: 'hi' } })), ['user_kim'])
    assert.deepEqual(speakersOf('actions', decoded('actions', { jsonrpc: '2.0', method: 'action.send', params: { from: 'companion_aya', name: 'wave', params: {} } })), ['companion_aya'])
    assert.deepEqual(speakersOf('states', decoded('states', vote('companion_aya', 'm1'))), ['companion_aya'], 'a vote')
    assert.deepEqual(speakersOf('states', decoded('states', [vote('companion_aya'), vote('companion_ren')])), [], 'a decision')
    assert.deepEqual(speakersOf('queries', decoded('queries', { jsonrpc: '2.0', method: 'query.send', id: 'q1', params: { from: 'companion_aya', type: 'speak' } })), ['companion_aya'])
    assert.deepEqual(speakersOf('queries', decoded('queries', { jsonrpc: '2.0', id: 'q1', result: { success: true, body: {} } })), [])
  })

  it('a payload impersonates when it speaks as an id another peer holds; unknown ids and the holder itself pass', () => {
    const claims = createIdClaims()
    claims.update(new Map([['peerA', 'companion_aya']]))
    assert.deepEqual(impersonated(['companion_aya'], 'peerB', claims), { id: 'companion_aya', holder: 'peerA' })
    assert.equal(impersonated(['companion_aya'], 'peerA', claims), undefined)
    assert.equal(impersonated(['companion_unknown'], 'peerB', claims), undefined)
    claims.update(new Map([['peerA', 'companion_aya'], ['peerC', 'user_kim']]))
    assert.equal(impersonated(['user_kim'], 'peerB', claims), undefined, 'a person\'s id is nobody\'s')
    assert.deepEqual(impersonated(['companion_aya'], undefined, claims), { id: 'companion_aya', holder: 'peerA' }, 'an unsigned payload cannot speak as a held id')
  })
})
