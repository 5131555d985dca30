import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { aikyoFreeAt } from '../../companion/aikyo-turns.ts'
import { electLeader, electionHash } from '../../companion/decisions.ts'
import { DEFAULT_TURN_SETTINGS } from '../../companion/turn-state.ts'
import { step } from '../../companion/turn-taking.ts'
import type { TurnState } from '../../companion/turn-state.ts'
import { decodePayload } from '../../protocol/codec.ts'
import type { Message } from '../../protocol/payloads.ts'
import { A, B, C, USER, message, node, ofType, vote } from '../helpers/turn-fixtures.ts'

describe('electLeader', () => {
  it('is md5(JSON of the message) mod the number of recipients, as aikyo computes it', () => {
    const m = message('1b4e28ba-2fa1-11d2-883f-0016d3cca427', USER, [A, B, C], 'Hello everyone!')
    const hex = createHash('md5').update(JSON.stringify(m)).digest('hex')
    const expected = [A, B, C][Number(BigInt(`0x${hex}`) % 3n)]
    assert.equal(electLeader(electionHash(m), [A, B, C]), expected)
  })
  it('ignores fields aikyo strips, and is the same on every node', () => {
    const m = message('x', USER, [A, B], 'hey')
    const extra = { ...m, params: { ...m.params, extra: 1 } } as Message
    assert.equal(electLeader(electionHash(extra), [A, B]), electLeader(electionHash(m), [A, B]))
  })
  it('hashes a decoded line as aikyo hashes it as it came: metadata keys in their order', () => {
    // Ours write emotion before replyTo; aikyo hashes the line as received.
    const raw = { jsonrpc: '2.0', method: 'message.send', params: { id: 'm1', from: B, to: [A, C], message: 'hi', metadata: { emotion: 'happy', replyTo: 'm0', extra: 1 } } }
    const decoded = decodePayload('messages', JSON.stringify(raw))
    assert.ok(decoded.ok && decoded.topic === 'messages')
    assert.equal(electionHash(decoded.payload), createHash('md5').update(JSON.stringify(raw)).digest('hex'))
  })
  it('elects nobody without recipients', () => {
    assert.equal(electLeader(electionHash(message('x', USER, [], 'hey')), []), undefined)
  })
})

describe('step: turns shared with aikyo companions (they never vote one by one)', () => {
  // Aya is of aikyo's make; Bo and Cy are ours.
  const mixed = (self: string): TurnState => ({ ...node(self), aikyo: { ...node(self).aikyo, names: { [A]: 'Aya' } } })
  /** A line to everyone whose election (md5 mod 3, over [A, B, C]) falls on `leader`. */
  const lineLedBy = (leader: string, from = USER, text = 'Hello all!'): Message => {
    for (let i = 0; ; i++) {
      const m = message(`m${i}`, from, [A, B, C], text)
      if (electLeader(electionHash(m), [A, B, C]) === leader) return m
    }
  }

  it('an aikyo leader decides: ours do not judge, and its array is read by aikyo\'s rule (ties to the first)', () => {
    const hello = lineLedBy(A)
    const opened = step(mixed(B), { type: 'message', message: hello }, 0)
    assert.equal(opened.state.turn?.decider, 'aikyo')
    assert.equal(ofType(opened.effects, 'judge').length, 0)
    // C and B tie; aikyo takes the first in the array, as every aikyo node does.
    const decision = [vote(C, undefined, 'speak', 6), vote(B, undefined, 'speak', 6), vote(A, undefined, 'listen', 0)]
    const { effects } = step(opened.state, { type: 'states', states: decision, author: A }, 4000)
    assert.equal(ofType(effects, 'decided')[0].speaker, C)
    assert.equal(ofType(effects, 'decided')[0].by, 'aikyo')
  })

  it('an array from an aikyo companion that is not this turn\'s leader, judging other addressees, decides nothing', () => {
    const opened = step(mixed(B), { type: 'message', message: lineLedBy(A) }, 0).state
    const stray = step(opened, { type: 'states', states: [vote(B, undefined, 'speak', 9)], author: A }, 100)
    assert.equal(ofType(stray.effects, 'decided').length, 0)
  })

  it('when ours lead, the aikyo recipient stands in (speaks when named), nobody waits for its vote, and the array goes best first', () => {
    const named = lineLedBy(B, USER, 'Aya, Bo, Cy: hello!')
    let s = step(mixed(B), { type: 'message', message: named }, 0).state
    assert.equal(s.turn?.leader, B)
    assert.equal(s.turn?.decider, 'ours')
    s = step(s, { type: 'states', states: [vote(C, named.params.id, 'speak', 9, true)] }, 10).state
    const { effects } = step(s, { type: 'states', states: [vote(B, named.params.id, 'speak', 7, true)] }, 20)
    const [decision] = ofType(effects, 'publish-decision')
    assert.ok(decision !== undefined, 'decided at once: no 3 s wait for a vote aikyo never sends')
    assert.deepEqual(decision.states.map(x => [x.params.from, x.params.importance]), [[C, 9], [A, 8], [B, 7]])
    assert.equal(ofType(effects, 'decided')[0].speaker, C)
  })

  it('an aikyo leader that is writing its own line drops the line: ours decide among themselves', () => {
    // Aya was chosen (by an aikyo decision) and has not said her line yet.
    let s = step(mixed(B), { type: 'message', message: lineLedBy(A) }, 0).state
    s = step(s, { type: 'states', states: [vote(A, undefined, 'speak', 9), vote(B, undefined, 'listen', 0), vote(C, undefined, 'listen', 0)], author: A }, 1000).state
    assert.deepEqual(Object.keys(s.aikyo.writing), [A])
    const interjection = lineLedBy(A, 'user_other')
    const opened = step(s, { type: 'message', message: interjection }, 2000)
    assert.equal(opened.state.turn?.decider, 'ours')
    assert.notEqual(opened.state.turn?.leader, A)
  })

  it('an aikyo leader that never decides: after aikyoDecisionMs ours decide among themselves', () => {
    const s = step(mixed(B), { type: 'message', message: lineLedBy(A) }, 0).state
    const early = step(s, { type: 'tick' }, DEFAULT_TURN_SETTINGS.aikyoDecisionMs - 1)
    assert.equal(early.state.turn?.decider, 'aikyo')
    const late = step(s, { type: 'tick' }, DEFAULT_TURN_SETTINGS.aikyoDecisionMs)
    assert.equal(late.state.turn?.decider, 'ours')
    assert.equal(ofType(late.effects, 'judge').length, 1)
  })

  it('the election after the aikyo leader leaves draws from the bytes the line came with (metadata and all)', () => {
    // A line with metadata, led by Aya, whose election among [B, C] falls
    // otherwise if its metadata were left out of the hash.
    const withMeta = (i: number): Message => ({ ...message(`m${i}`, USER, [A, B, C], 'Hello all!'), params: { id: `m${i}`, from: USER, to: [A, B, C], message: 'Hello all!', metadata: { replyTo: 'earlier', emotion: 'happy', name: 'Yamada' } } })
    const bare = (m: Message): Message => message(m.params.id, USER, [A, B, C], m.params.message)
    let m = withMeta(0)
    for (let i = 1; electLeader(electionHash(m), [A, B, C]) !== A || electLeader(electionHash(m), [B, C]) === electLeader(electionHash(bare(m)), [B, C]); i++) m = withMeta(i)
    const expected = electLeader(electionHash(m), [B, C])
    const opened = step(mixed(B), { type: 'message', message: m }, 0).state
    assert.equal(opened.turn?.decider, 'aikyo')
    assert.equal(opened.turn?.electionHash, electionHash(m), 'the hash taken on arrival is kept with the turn')
    // Aya leaves before deciding: ours elect among themselves, from the same hash.
    const left = step(opened, { type: 'presence', present: [B, C], aikyo: {} }, 1000).state
    assert.equal(left.turn?.decider, 'ours')
    assert.equal(left.turn?.leader, expected)
    // Aya stays silent instead: the same leader after aikyoDecisionMs.
    const silent = step(opened, { type: 'tick' }, DEFAULT_TURN_SETTINGS.aikyoDecisionMs).state
    assert.equal(silent.turn?.leader, expected)
  })

  it('a late decision for an older line pays its debt and decides nothing now', () => {
    const first = lineLedBy(A)
    let s = step(mixed(B), { type: 'message', message: first }, 0).state
    // The answer to the first line comes before its decision did (another path).
    const answer = message('ans', C, [A, B], 'Thanks!', first.params.id)
    s = step(s, { type: 'message', message: answer }, 500).state
    const late = step(s, { type: 'states', states: [vote(A, undefined, 'speak', 3), vote(B, undefined, 'speak', 9), vote(C, undefined, 'listen', 0)], author: A }, 600)
    assert.equal(ofType(late.effects, 'decided').length, 0)
    assert.equal(late.state.aikyo.owed.some(o => o.line === first.params.id), false)
  })

  describe('an array for an older line that picks an aikyo companion: it writes (aikyo\'s nodes act on every array), and the line the conversation hangs on is its to answer', () => {
    // Aya (aikyo) and Bo (ours, this node). Aya asked Bo; Bo answered (`ans`);
    // Aya, its leader, is deciding that answer when a person interjects. The
    // interjection beats Bo's line; Aya drops it (busy), then publishes her
    // decision on Bo's line, which picks her: she writes, whatever ours did.
    const duo = (): TurnState => ({ ...node(B, [A, B]), aikyo: { ...node(B).aikyo, names: { [A]: 'Aya' } } })
    const interjectionLedBy = (leader: string): Message => {
      for (let i = 0; ; i++) {
        const m = message(`p${i}`, USER, [A, B], 'Sorry to interrupt, what about me?')
        if (electLeader(electionHash(m), [A, B]) === leader) return m
      }
    }
    const answered = (): TurnState => {
      let s = step(duo(), { type: 'message', message: message('aya1', A, [B], 'Bo, what do you think?') }, 0).state
      s = step(s, { type: 'judged', messageId: 'aya1', judgement: { state: 'speak', importance: 9, closing: 'none' } }, 100).state
      s = step(s, { type: 'states', states: [vote(B, 'aya1', 'speak', 9, true)] }, 110).state
      s = step(s, { type: 'written', id: s.writing!.id, ok: true }, 1000).state
      s = step(s, { type: 'message', message: message('ans', B, [A, USER], 'I think so.', 'aya1') }, 1000).state
      assert.deepEqual(s.aikyo.owed.map(o => [o.leader, o.line]), [[A, 'ans']])
      return s
    }
    // Her decision on Bo's line: the person is not a companion, so aikyo's pick is Aya.
    const ayaDecides = [vote(A, undefined, 'speak', 3), vote(USER, undefined, 'speak', 3)]

    it('ours lead the interjection and chose Bo: Bo drops the line it is writing, and Aya is the one awaited', () => {
      const p = interjectionLedBy(B)
      let s = step(answered(), { type: 'message', message: p }, 1200).state
      assert.equal(s.turn?.decider, 'ours')
      s = step(s, { type: 'judged', messageId: p.params.id, judgement: { state: 'speak', importance: 7, closing: 'none' } }, 1300).state
      s = step(s, { type: 'states', states: [vote(B, p.params.id, 'speak', 7)] }, 1310).state
      assert.equal(s.awaiting?.speaker, B)
      const writing = s.writing!.id
      const late = step(s, { type: 'states', states: ayaDecides, author: A }, 1600)
      assert.deepEqual(ofType(late.effects, 'discard-line').map(e => e.id), [writing])
      assert.equal(late.state.writing, null)
      assert.deepEqual(ofType(late.effects, 'decided').map(e => [e.messageId, e.speaker, e.by]), [[p.params.id, A, 'aikyo']])
      assert.equal(late.state.awaiting?.speaker, A)
      // Bo's write, finished after all, publishes nothing.
      assert.deepEqual(step(late.state, { type: 'written', id: writing, ok: true }, 2000).effects, [])
      // Aya's line answers the interjection; the conversation goes on from it.
      const aya = step(late.state, { type: 'message', message: message('aya2', A, [B, USER], 'Aya here.') }, 2200).state
      assert.equal(aya.head?.id, 'aya2')
      assert.equal(aya.awaiting, null)
    })

    it('Aya leads the interjection she dropped: her decision on Bo\'s line decides it at once (no waiting for one she will not make)', () => {
      const p = interjectionLedBy(A)
      const s = step(answered(), { type: 'message', message: p }, 1200).state
      assert.equal(s.turn?.decider, 'aikyo')
      const late = step(s, { type: 'states', states: ayaDecides, author: A }, 1600)
      assert.deepEqual(ofType(late.effects, 'decided').map(e => [e.messageId, e.speaker]), [[p.params.id, A]])
      assert.equal(late.state.turn, null)
    })

    it('nothing going on: Aya is marked busy writing', () => {
      const s = answered()
      const late = step({ ...s, turn: null, conversation: { ...s.conversation, resting: true } }, { type: 'states', states: ayaDecides, author: A }, 1600)
      assert.deepEqual(ofType(late.effects, 'decided'), [])
      assert.deepEqual(Object.keys(late.state.aikyo.writing), [A])
    })

    it('but not an array whose line was answered already (aikyo\'s nodes acted on it before it came here), nor one that picks ours', () => {
      const p = interjectionLedBy(B)
      const opened = step(answered(), { type: 'message', message: p }, 1200).state
      const picksBo = step(opened, { type: 'states', states: [vote(A, undefined, 'speak', 3), vote(B, undefined, 'speak', 3, true)], author: A }, 1600)
      assert.deepEqual(ofType(picksBo.effects, 'decided'), [])
      assert.equal(picksBo.state.turn?.message.id, p.params.id)
      let s = step(answered(), { type: 'message', message: message('aya2', A, [B], 'Aya here.') }, 1500).state
      assert.equal(s.aikyo.owed.find(o => o.line === 'ans')?.answered, true)
      s = step(s, { type: 'states', states: ayaDecides, author: A }, 1600).state
      assert.deepEqual(Object.keys(s.aikyo.writing), [])
    })
  })

  it('a line to an aikyo companion that just spoke waits until its model is free', () => {
    let s = step(mixed(B), { type: 'message', message: lineLedBy(A) }, 0).state
    s = step(s, { type: 'states', states: [vote(A, undefined, 'speak', 9), vote(B, undefined, 'listen', 0), vote(C, undefined, 'listen', 0)], author: A }, 1000).state
    // Her line comes 4 s after she was chosen: two calls, so one more (about 2 s) follows it.
    s = step(s, { type: 'message', message: message('aya1', A, [B, C], 'Hi!') }, 5000).state
    const freeAt = s.aikyo.timing[A]?.freeAt ?? 0
    assert.ok(freeAt >= 5000 + 2000, `free at ${freeAt}`)
    assert.equal(aikyoFreeAt(s.aikyo, [A, C], s.present), freeAt)
    assert.equal(aikyoFreeAt(s.aikyo, [C], s.present), undefined)
  })
})
