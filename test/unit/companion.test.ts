import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createBuiltinBrain } from '../../companion/builtin-brain.ts'
import type { Brain } from '../../companion/brain.ts'
import { generateCard } from '../../companion/presets.ts'
import { Companion } from '../../companion/companion.ts'
import type { CompanionEvent } from '../../companion/companion-events.ts'
import type { CompanionSettings } from '../../companion/companion.ts'
import { seededRandom } from '../../companion/random.ts'
import { decodePayload, encodePayload } from '../../protocol/codec.ts'
import type { Message } from '../../protocol/payloads.ts'
import type { Topic } from '../../protocol/topics.ts'
import { waitFor } from '../helpers/wait.ts'

const FAST: Partial<CompanionSettings> = { paceMs: 0, voteWindowMs: 400, decisionGraceMs: 300, lineTimeoutMs: 2000, queryTimeoutMs: 300, turnLimit: 6 }

/** Companions on an in-memory gossip bus: every payload reaches everyone, encoded and decoded, after a random delay. */
function group (names: string[], brain: (i: number) => Brain = () => createBuiltinBrain({ seed: 'group' }), settings = FAST) {
  const random = seededRandom(42)
  const log: Array<{ topic: Topic, payload: unknown }> = []
  const members: Companion[] = []
  const deliver = (topic: Topic, payload: unknown): void => {
    log.push({ topic, payload })
    const bytes = encodePayload(payload)
    for (const member of members) {
      setTimeout(() => {
        const decoded = decodePayload(topic, bytes)
        if (decoded.ok) member.receive(decoded)
      }, Math.floor(random() * 15))
    }
  }
  names.forEach((name, i) => {
    members.push(new Companion({ card: generateCard(seededRandom(i + 1), name), brain: brain(i), publish: async (t, p) => { deliver(t, p) }, settings }))
  })
  for (const m of members) m.setPresent(members.map(x => ({ card: x.card })))
  const lines = () => log.filter(e => e.topic === 'messages').map(e => (e.payload as Message).params)
  return { members, log, lines, deliver, stop: () => { for (const m of members) m.stop() } }
}

describe('Companion (built-in brains on an in-memory bus)', () => {
  it('three companions answer a person one at a time and rest within the turn limit', async () => {
    const g = group(['aya', 'ren', 'mio'])
    try {
      const ids = g.members.map(m => m.card.id)
      // A greeting may start things when presence is set; let that settle first.
      await waitFor(() => g.members.every(m => m.status === 'resting'), 'every companion resting', 10_000)
      const before = g.lines().length
      g.deliver('messages', { jsonrpc: '2.0', method: 'message.send', params: { id: 'hello-1', from: 'user_yamada', to: ids, message: 'Hello all three of you!' } })
      await waitFor(() => g.lines().length > before + 1 && g.members.every(m => m.status === 'resting'), 'answers, then rest', 20_000)
      const said = g.lines().slice(before)
      const replies = said.filter(l => l.from.startsWith('companion_'))
      // Each companion line answers the line before it: one conversation, one speaker per turn.
      for (let i = 1; i < said.length; i++) assert.equal(said[i].metadata?.replyTo, said[i - 1].id, `line ${i} answers the line before it`)
      assert.ok(replies.length <= 6 + 3, `${replies.length} lines`)
      assert.ok(replies[0].to.includes('user_yamada'), 'the first answer addresses the person')
      assert.ok(g.log.some(e => e.topic === 'actions'), 'actions were published')
      assert.ok(g.log.some(e => e.topic === 'queries'), 'speak queries were sent')
      const decisions = g.log.filter(e => e.topic === 'states' && Array.isArray(e.payload))
      for (const d of decisions) for (const s of d.payload as Array<{ params: Record<string, unknown> }>) assert.equal('messageId' in s.params, false)
    } finally { g.stop() }
  })

  it('a query resolves with the first matching result (on query-results or queries) and ignores unknown ones', async () => {
    const g = group(['aya'], undefined, { ...FAST, speakQueries: false })
    try {
      const [aya] = g.members
      const events: CompanionEvent[] = []
      aya.onEvent(e => events.push(e))
      const pending = aya.query('speak', { message: 'hi' }, 2000)
      await waitFor(() => g.log.some(e => e.topic === 'queries'), 'the query published', 1000)
      const query = g.log.find(e => e.topic === 'queries')!.payload as { id: string }
      aya.receive({ topic: 'query-results', payload: { jsonrpc: '2.0', id: 'someone-elses', result: { success: true, body: {} } } })
      aya.receive({ topic: 'queries', payload: { jsonrpc: '2.0', id: query.id, result: { success: true, body: { spoken: true } } } })
      aya.receive({ topic: 'query-results', payload: { jsonrpc: '2.0', id: query.id, result: { success: false, body: {} } } }) // late: ignored
      const outcome = await pending
      assert.deepEqual(outcome, { ok: true, result: { jsonrpc: '2.0', id: query.id, result: { success: true, body: { spoken: true } } } })
      assert.equal(events.filter(e => e.type === 'query-result').length, 1)
    } finally { g.stop() }
  })

  it('a query nobody answers times out with a clear error', async () => {
    const g = group(['aya'], undefined, { ...FAST, speakQueries: false })
    try {
      const outcome = await g.members[0].query('look', {}, 100)
      assert.deepEqual(outcome, { ok: false, error: 'no client answered the look query within 100 ms' })
    } finally { g.stop() }
  })

  it('a brain that fails listens (votes listen), reports the error, and the others carry on', async () => {
    const broken: Brain = { kind: 'llm', judge: async () => { throw new Error('endpoint down') }, write: async () => { throw new Error('endpoint down') } }
    const g = group(['aya', 'ren'], i => i === 0 ? broken : createBuiltinBrain())
    try {
      const errors: string[] = []
      g.members[0].onEvent(e => { if (e.type === 'brain-error') errors.push(e.message) })
      await waitFor(() => g.members.every(m => m.status === 'resting'), 'every companion resting', 10_000)
      const before = g.lines().length
      g.deliver('messages', { jsonrpc: '2.0', method: 'message.send', params: { id: 'hello-2', from: 'user_yamada', to: g.members.map(m => m.card.id), message: 'Hi both!' } })
      await waitFor(() => g.lines().length > before + 1 && g.members.every(m => m.status === 'resting'), 'answers, then rest', 10_000)
      assert.ok(errors.some(e => e.includes('endpoint down')))
      assert.ok(g.lines().slice(before + 1).every(l => l.from === g.members[1].card.id), 'only the working companion spoke')
    } finally { g.stop() }
  })
})
