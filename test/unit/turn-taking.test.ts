import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { takesOver } from '../../companion/reply-tree.ts'
import { DEFAULT_TURN_SETTINGS } from '../../companion/turn-state.ts'
import { electLeader, electionHash } from '../../companion/decisions.ts'
import { isSelected, votedClosing } from '../../companion/turn-decision.ts'
import { recipientsOf } from '../../companion/decisions.ts'
import { step } from '../../companion/turn-taking.ts'
import type { HistoryLine, TurnEffect } from '../../companion/turn-state.ts'
import type { State } from '../../protocol/payloads.ts'
import { A, B, C, USER, line, message, node, ofType, vote } from '../helpers/turn-fixtures.ts'

describe('recipientsOf', () => {
  const cases: Array<[string, HistoryLine, string[], string[]]> = [
    ['present companions named in to, in to order', line('1', USER, [C, A]), [A, B, C], [C, A]],
    ['absent ones are left out', line('1', USER, [A, 'companion_gone']), [A, B], [A]],
    ['the sender is left out', line('1', A, [A, B]), [A, B], [B]],
    ['empty to means everyone present', line('1', USER, []), [C, A, B], [A, B, C]],
    ['duplicates count once', line('1', USER, [B, B]), [A, B], [B]]
  ]
  for (const [name, l, present, expected] of cases) it(name, () => { assert.deepEqual(recipientsOf(l, present), expected) })
})

describe('isSelected', () => {
  const cases: Array<[string, HistoryLine, boolean]> = [
    ['the only recipient', line('1', B, [A]), true],
    ['named in the text', line('1', B, [A, C], 'What do you think, Aya?'), true],
    ['named in any case', line('1', B, [A, C], 'AYA! look'), true],
    ['a longer word is not the name', line('1', B, [A, C], 'Ayahuasca is a plant'), false],
    ['not named', line('1', B, [A, C], 'Nice weather'), false],
    ['named but not addressed', line('1', B, [C], 'Aya said so'), false]
  ]
  for (const [name, l, expected] of cases) it(name, () => { assert.equal(isSelected(l, A, 'Aya'), expected) })
  it('finds names without spaces around them (Japanese)', () => {
    assert.equal(isSelected(line('1', B, [A, C], 'あやさんはどう思う?'), A, 'あや'), true)
  })
})

describe('votedClosing', () => {
  const base = { settings: { ...DEFAULT_TURN_SETTINGS, turnLimit: 5 }, history: [] as HistoryLine[] }
  const conv = (lines: number, closing: 'none' | 'pre-closing' | 'closing' | 'terminal') => ({ lines, closing, resting: false })
  const cases: Array<[string, Parameters<typeof votedClosing>[0], Parameters<typeof votedClosing>[1], string]> = [
    ['the brain keeps none', 'none', { ...base, conversation: conv(1, 'none') }, 'none'],
    ['the brain may begin the walk', 'pre-closing', { ...base, conversation: conv(1, 'none') }, 'pre-closing'],
    ['the brain cannot skip a stage', 'terminal', { ...base, conversation: conv(1, 'none') }, 'pre-closing'],
    ['once begun the walk goes on', 'none', { ...base, conversation: conv(2, 'pre-closing') }, 'closing'],
    ['closing leads to terminal', 'none', { ...base, conversation: conv(3, 'closing') }, 'terminal'],
    ['the turn limit begins it', 'none', { ...base, conversation: conv(5, 'none') }, 'pre-closing'],
    ['repetitive lines begin it', 'none', {
      ...base,
      conversation: conv(3, 'none'),
      history: Array.from({ length: 5 }, (_, i) => line(String(i), A, [B], 'I love the sea, the sea is lovely'))
    }, 'pre-closing'],
    ['varied lines do not', 'none', {
      ...base,
      conversation: conv(3, 'none'),
      history: ['Good morning!', 'Did you sleep well?', 'The cat knocked over my tea', 'Oh no, was it hot?', 'Only lukewarm, luckily'].map((t, i) => line(String(i), A, [B], t))
    }, 'none']
  ]
  for (const [name, proposed, state, expected] of cases) it(name, () => { assert.equal(votedClosing(proposed, state), expected) })
})

describe('takesOver', () => {
  const present = [A, B, C]
  const m0 = line('m0', B, [A], 'hi')
  const m1 = line('m1', B, [A], 'hi', 'm0')
  const cases: Array<[string, HistoryLine, HistoryLine | null, HistoryLine[], boolean]> = [
    ['anything when there is no head', line('x', A, [B], 'hi', 'zz'), null, [], true],
    ['an answer to the head', line('x', A, [B], 'hi', 'm1'), m1, [m0, m1], true],
    ['a line naming no head (aikyo, firehose)', line('x', USER, [A]), m1, [m0, m1], true],
    ['an answer to a line not seen yet (it is newer)', line('x', A, [B], 'hi', 'm9'), m1, [m0, m1], true],
    ['a line that already has an answer (it is older)', m0, m1, [m1], false],
    ['a person beats a companion written at the same time', line('p', USER, [A], 'hey', 'm0'), line('c', A, [B], 'hi', 'm0'), [m0, line('c', A, [B], 'hi', 'm0')], true],
    ['a companion loses to a person', line('c', A, [B], 'hi', 'm0'), line('p', USER, [A], 'hey', 'm0'), [m0, line('p', USER, [A], 'hey', 'm0')], false],
    ['between two companions the smaller id wins', line('a1', A, [B], 'hi', 'm0'), line('b1', C, [B], 'hi', 'm0'), [m0, line('b1', C, [B], 'hi', 'm0')], true],
    ['and the larger loses', line('b1', C, [B], 'hi', 'm0'), line('a1', A, [B], 'hi', 'm0'), [m0, line('a1', A, [B], 'hi', 'm0')], false],
    ['a branch is judged where it forks: an answer to a losing line loses', line('c2', B, [A], 'hi', 'c1'), line('p1', USER, [A], 'hey', 'm0'),
      [m0, line('p1', USER, [A], 'hey', 'm0'), line('c1', A, [B], 'hi', 'm0')], false]
  ]
  for (const [name, l, h, seen, expected] of cases) it(name, () => { assert.equal(takesOver(l, h, present, [...seen, l]), expected) })
})

describe('step: one turn', () => {
  const hello = message('m1', USER, [A, B, C], 'Hello all!')
  const leader = electLeader(electionHash(hello), [A, B, C])!

  it('a recipient judges the line; a failed brain still votes (listen)', () => {
    const { state, effects } = step(node(A), { type: 'message', message: hello }, 0)
    assert.equal(ofType(effects, 'judge').length, 1)
    const judged = step(state, { type: 'judged', messageId: 'm1', judgement: null }, 10)
    const [published] = ofType(judged.effects, 'publish-vote')
    assert.deepEqual(published.state.params, { from: A, state: 'listen', importance: 0, selected: false, closing: 'none', messageId: 'm1' })
  })

  it('a non-recipient does not judge', () => {
    const { effects } = step(node(C), { type: 'message', message: message('m2', A, [B], 'Bo?') }, 0)
    assert.equal(ofType(effects, 'judge').length, 0)
  })

  it('the leader decides once every recipient voted, with an aikyo-shaped array, best first', () => {
    let s = step(node(leader), { type: 'message', message: hello }, 0).state
    const others = [A, B, C]
    let effects: TurnEffect[] = []
    for (const [i, id] of others.entries()) {
      const r = step(s, { type: 'states', states: [vote(id, 'm1', 'speak', i + 3)] }, 5)
      s = r.state
      effects = r.effects
      if (i < others.length - 1) assert.equal(ofType(effects, 'publish-decision').length, 0)
    }
    const [decision] = ofType(effects, 'publish-decision')
    // Importance 5, 4, 3: aikyo, which takes the first of equals, picks what we pick.
    assert.deepEqual(decision.states.map(x => x.params.from), [C, B, A])
    for (const x of decision.states) assert.equal('messageId' in x.params, false)
  })

  it('the leader decides with what arrived when the window closes', () => {
    let s = step(node(leader), { type: 'message', message: hello }, 0).state
    const voter = [A, B, C].find(id => id !== leader)!
    s = step(s, { type: 'states', states: [vote(voter, 'm1', 'speak', 4)] }, 5).state
    assert.equal(ofType(step(s, { type: 'tick' }, DEFAULT_TURN_SETTINGS.voteWindowMs - 1).effects, 'publish-decision').length, 0)
    const [decision] = ofType(step(s, { type: 'tick' }, DEFAULT_TURN_SETTINGS.voteWindowMs).effects, 'publish-decision')
    assert.deepEqual(decision.states.map(x => x.params.from), [voter])
  })

  it('votes that arrive before their line are counted', () => {
    let s = node(leader)
    for (const id of [A, B, C]) s = step(s, { type: 'states', states: [vote(id, 'm1', 'listen', 0)] }, 0).state
    const r = step(s, { type: 'message', message: hello }, 3)
    assert.equal(ofType(r.effects, 'publish-decision').length, 1)
  })

  it('with every vote in, each node decides at once; only the chosen speaker writes; selected beats importance', () => {
    const votes = [vote(A, 'm1', 'speak', 9), vote(B, 'm1', 'listen', 1, true), vote(C, 'm1', 'speak', 2)]
    for (const self of [A, B, C]) {
      let s = step(node(self), { type: 'message', message: hello }, 0).state
      let effects: TurnEffect[] = []
      for (const v of votes) ({ state: s, effects } = step(s, { type: 'states', states: [v] }, 10))
      assert.equal(ofType(effects, 'decided')[0].speaker, B)
      assert.equal(ofType(effects, 'decided')[0].by, 'votes')
      assert.equal(ofType(effects, 'write').length, self === B ? 1 : 0)
    }
  })

  it("the leader's decision is applied once the votes in it have arrived", () => {
    const nonLeader = [A, B, C].find(id => id !== leader)!
    let s = step(node(nonLeader), { type: 'message', message: hello }, 0).state
    s = step(s, { type: 'states', states: [vote(A, 'm1', 'speak', 3)] }, 1).state
    // The decision left out C (too late for the leader) and B's vote is still on its way here.
    const decision = [vote(A, undefined, 'speak', 3), vote(B, undefined, 'speak', 8)]
    const held = step(s, { type: 'states', states: decision }, 2)
    assert.equal(ofType(held.effects, 'decided').length, 0)
    const r = step(held.state, { type: 'states', states: [vote(B, 'm1', 'speak', 8)] }, 3)
    assert.deepEqual(ofType(r.effects, 'decided').map(e => [e.speaker, e.by]), [[B, 'leader']])
  })

  it('an aikyo decision (array, no messageId, from voters that never vote singly) is applied to the open turn', () => {
    const s = step(node(A), { type: 'message', message: hello }, 0).state
    const r = step(s, { type: 'states', states: [vote(A, undefined, 'speak', 7), vote(B, undefined, 'speak', 2)] }, 10)
    assert.equal(ofType(r.effects, 'write').length, 1)
  })

  it('a decision made of the votes of a line that was taken over is ignored', () => {
    let s = step(node(A), { type: 'message', message: hello }, 0).state
    s = step(s, { type: 'states', states: [vote(B, 'm1', 'speak', 5)] }, 1).state
    s = step(s, { type: 'message', message: message('m2', USER, [A, B], 'wait, me first', 'm1') }, 2).state
    const r = step(s, { type: 'states', states: [vote(B, undefined, 'speak', 5)] }, 3)
    assert.equal(ofType(r.effects, 'decided').length, 0)
    assert.equal(r.state.turn?.message.id, 'm2')
  })

  it('without the leader, everyone decides from the votes it saw after the grace period', () => {
    const { voteWindowMs, decisionGraceMs } = DEFAULT_TURN_SETTINGS
    const nonLeader = [A, B, C].find(id => id !== leader)!
    let s = step(node(nonLeader), { type: 'message', message: hello }, 0).state
    s = step(s, { type: 'states', states: [vote(nonLeader, 'm1', 'speak', 6)] }, 5).state
    assert.equal(ofType(step(s, { type: 'tick' }, voteWindowMs + decisionGraceMs - 1).effects, 'decided').length, 0)
    const r = step(s, { type: 'tick' }, voteWindowMs + decisionGraceMs)
    assert.equal(ofType(r.effects, 'decided')[0].by, 'fallback')
    assert.equal(ofType(r.effects, 'write').length, 1)
  })

  it('a terminal speaker says nothing and the conversation rests', () => {
    const s = step(node(A), { type: 'message', message: hello }, 0).state
    const terminal: State = { ...vote(A, undefined, 'speak', 9), params: { ...vote(A, undefined, 'speak', 9).params, closing: 'terminal' } }
    const r = step(s, { type: 'states', states: [terminal] }, 10)
    assert.equal(ofType(r.effects, 'write').length, 0)
    assert.equal(ofType(r.effects, 'rest').length, 1)
    assert.equal(r.state.conversation.resting, true)
  })

  it('a line arriving while writing discards the line being written', () => {
    let s = step(node(A), { type: 'message', message: hello }, 0).state
    const r1 = step(s, { type: 'states', states: [vote(A, undefined, 'speak', 9)] }, 10)
    s = r1.state
    const [write] = ofType(r1.effects, 'write')
    const r2 = step(s, { type: 'message', message: message('m2', USER, [A, B], 'actually…', 'm1') }, 20)
    assert.deepEqual(ofType(r2.effects, 'discard-line').map(e => e.id), [write.id])
    assert.equal(ofType(step(r2.state, { type: 'written', id: write.id, ok: true }, 30).effects, 'publish-line').length, 0)
  })

  it('if the chosen speaker leaves, the next best vote speaks', () => {
    let s = step(node(B), { type: 'message', message: hello }, 0).state
    s = step(s, { type: 'states', states: [vote(A, undefined, 'speak', 9), vote(B, undefined, 'speak', 5)] }, 10).state
    assert.equal(s.awaiting?.speaker, A)
    const r = step(s, { type: 'presence', present: [B, C] }, 20)
    assert.equal(ofType(r.effects, 'write').length, 1)
  })

  it('a chosen speaker whose brain cannot write yields at once: it votes listen, and the next best speaks', () => {
    // A is chosen and fails to write.
    let a = step(node(A), { type: 'message', message: hello }, 0).state
    const chosen = step(a, { type: 'states', states: [vote(A, undefined, 'speak', 9), vote(B, undefined, 'speak', 5)] }, 10)
    a = chosen.state
    const [write] = ofType(chosen.effects, 'write')
    const failed = step(a, { type: 'written', id: write.id, ok: false }, 20)
    assert.equal(ofType(failed.effects, 'discard-line').length, 1)
    const [retraction] = ofType(failed.effects, 'publish-vote')
    assert.deepEqual([retraction.state.params.from, retraction.state.params.state, retraction.state.params.messageId], [A, 'listen', 'm1'])
    assert.equal(ofType(failed.effects, 'write').length, 0, 'A does not try again')
    assert.equal(failed.state.awaiting?.speaker, B)
    // B, waiting for A's line, speaks as soon as the retraction arrives (not after lineTimeoutMs).
    let b = step(node(B), { type: 'message', message: hello }, 0).state
    b = step(b, { type: 'states', states: [vote(A, undefined, 'speak', 9), vote(B, undefined, 'speak', 5)] }, 10).state
    assert.equal(b.awaiting?.speaker, A)
    const r = step(b, { type: 'states', states: [retraction.state] }, 30)
    assert.equal(ofType(r.effects, 'write').length, 1)
    // A failed greeting (nobody waits for it) is just dropped.
    const greeting = step(node(A, [A, B]), { type: 'presence', present: [A, B, C] }, 0)
    const [greet] = ofType(greeting.effects, 'write')
    assert.deepEqual(step(greeting.state, { type: 'written', id: greet.id, ok: false }, 5).effects.map(e => e.type), ['discard-line'])
  })

  it('a newcomer is greeted by one companion when nothing is going on', () => {
    const greeters = [A, B].filter(self => ofType(step(node(self, [A, B]), { type: 'presence', present: [A, B, C] }, 0).effects, 'write').length === 1)
    assert.deepEqual(greeters, [A])
    // The newcomer sees the others join too: it does not greet them.
    assert.equal(ofType(step(node(C, [C]), { type: 'presence', present: [A, B, C] }, 0).effects, 'write').length, 0)
  })

  it('two companions meeting: only one greets (each sees the other join)', () => {
    const greets = (self: string, other: string) => ofType(step(node(self, [self]), { type: 'presence', present: [self, other] }, 0).effects, 'write')
    assert.deepEqual(greets(A, B).map(w => w.greet), [B])
    assert.equal(greets(B, A).length, 0)
  })

  it('after a rest, a line starts the next conversation even if it answers a line this node did not follow', () => {
    // B followed a conversation (x1), rests; a person answers a line of another branch it knows (y1).
    let s = step(node(B, [A, B]), { type: 'message', message: message('y1', A, [B], 'a line of another branch') }, 0).state
    s = step(s, { type: 'message', message: message('x1', USER, [A, B], 'hello') }, 1).state
    s = { ...s, conversation: { ...s.conversation, resting: true }, turn: null, judging: null }
    const r = step(s, { type: 'message', message: message('p1', USER, [B], 'Hi B!', 'y1') }, 2)
    assert.equal(r.state.head?.id, 'p1')
    assert.equal(ofType(r.effects, 'judge').length, 1)
  })
})

describe('lines remembered from before this companion came (the room\'s history)', () => {
  it('become context and known lines, before anything heard live, and open no turn', () => {
    let state = node(A)
    const live = message('live', USER, [A, B], 'hello now')
    state = step(state, { type: 'message', message: live }, 1000).state
    const earlier = [message('e1', USER, [B], 'earlier one'), message('e2', B, [USER], 'earlier two', 'e1'), message('live', USER, [A, B], 'hello now')]
    const result = step(state, { type: 'remembered', messages: earlier }, 2000)
    assert.deepEqual(result.effects, [], 'no judging, no votes, no writing')
    assert.deepEqual(result.state.history.map(l => l.id), ['e1', 'e2', 'live'], 'earlier lines first, the live one once')
    assert.equal(result.state.head?.id, 'live', 'the conversation still hangs on the live line')
    assert.deepEqual(result.state.turn, state.turn)
    // A late live copy of a remembered line is a duplicate, not a new line.
    const late = step(result.state, { type: 'message', message: earlier[0] }, 3000)
    assert.deepEqual(late.effects, [])
    assert.equal(late.state, result.state)
  })

  it('nothing new: nothing changes', () => {
    const state = node(A)
    assert.equal(step(state, { type: 'remembered', messages: [] }, 0).state, state)
  })
})
