/**
 * Companions thinking through one endpoint: only a few ask the model to
 * judge a line, the same few on every companion, whatever the room's size.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { Brain, BrainContext, JudgeRequest } from '../../companion/brain.ts'
import { SHARED_JUDGES, asksSharedModel, shareJudging } from '../../companion/llm-brain.ts'

const card = (n: number) => ({ id: `companion_c${n}`, name: `C${n}`, personality: 'p', story: 's', sample: 'x' })
const room = Array.from({ length: 24 }, (_, i) => card(i))
const contextOf = (self: number): BrainContext => ({ card: room[self], companions: room.filter((_, i) => i !== self), history: [], nameOf: id => id })
const requestFor = (id: string, to: string[], selected = false): JudgeRequest => ({ message: { id, from: 'user_person1', to, text: 'hello' }, selected, conversation: { lines: 1, closing: 'none', resting: false } })

describe('a shared model judges a line through a few companions', () => {
  it(`${SHARED_JUDGES} of 24 companions ask about a line to everyone, and every companion agrees which`, () => {
    for (const line of ['l1', 'l2', 'l3', 'l4']) {
      const request = requestFor(line, [])
      const askers = room.filter((_, i) => asksSharedModel(contextOf(i), request))
      assert.equal(askers.length, SHARED_JUDGES, line)
    }
    // Different lines, different askers: the work is spread.
    const firsts = new Set(['l1', 'l2', 'l3', 'l4', 'l5', 'l6'].map(line => room.find((_, i) => asksSharedModel(contextOf(i), requestFor(line, [])))?.id))
    assert.ok(firsts.size > 1)
  })

  it('a companion the line names asks too, and the sender never does', () => {
    const request = requestFor('n1', room.map(c => c.id), false)
    const named = { ...request, selected: true }
    assert.equal(asksSharedModel(contextOf(5), named), true)
    const fromC3 = { ...request, message: { ...request.message, from: room[3].id } }
    assert.equal(asksSharedModel(contextOf(3), fromC3), false)
  })

  it('those not asked judge by the quick rules; every line is written by the model', async () => {
    const calls: string[] = []
    const stub = (kind: string): Brain => ({
      kind: 'builtin',
      judge: async () => { calls.push(`${kind} judge`); return { state: 'speak', importance: 5, closing: 'none' } },
      write: async () => { calls.push(`${kind} write`); return { text: 'hi', to: [], emotion: 'neutral', actions: [] } }
    })
    const brain = shareJudging(stub('model'), stub('quick'))
    const request = requestFor('q1', [])
    const asks = room.map((_, i) => asksSharedModel(contextOf(i), request))
    for (let i = 0; i < room.length; i++) await brain.judge(contextOf(i), request, new AbortController().signal)
    assert.equal(calls.filter(c => c === 'model judge').length, asks.filter(Boolean).length)
    assert.equal(calls.filter(c => c === 'quick judge').length, room.length - SHARED_JUDGES)
    await brain.write(contextOf(0), { replyTo: request.message, vote: null, greet: null, conversation: request.conversation }, new AbortController().signal)
    assert.equal(calls.at(-1), 'model write')
  })
})
