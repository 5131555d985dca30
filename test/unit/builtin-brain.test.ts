import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createBuiltinBrain, topicOf, voiceFor } from '../../companion/builtin-brain.ts'
import type { BrainContext } from '../../companion/brain.ts'
import { editCard } from '../../companion/card.ts'
import { PRESETS, findPreset, generateCard } from '../../companion/presets.ts'
import { toCard } from '../../protocol/payloads.ts'
import { seededRandom } from '../../companion/random.ts'
import type { HistoryLine } from '../../companion/turn-state.ts'
import type { CompanionCard } from '../../protocol/payloads.ts'

const card = (key: string, id = `companion_${key}`): CompanionCard => {
  const p = findPreset(key)!
  return { id, name: p.name, personality: p.personality, story: p.story, sample: p.sample }
}
const aya = card('aya')
const ren = card('ren')
const mio = card('mio')
const context = (self: CompanionCard, history: HistoryLine[] = []): BrainContext => ({
  card: self,
  companions: [aya, ren, mio].filter(c => c.id !== self.id),
  history,
  nameOf: (id) => [aya, ren, mio].find(c => c.id === id)?.name ?? (id === 'user_yamada' ? 'Yamada' : id)
})
const signal = new AbortController().signal
const conv = (lines = 1) => ({ lines, closing: 'none' as const, resting: false })
const hello: HistoryLine = { id: 'm1', from: 'user_yamada', to: [aya.id, ren.id, mio.id], text: 'Hello everyone, how was the festival?' }

describe('cards', () => {
  it('a preset by key or name; ids are companion_<name>_<suffix>', () => {
    const c = generateCard(seededRandom(1), 'Kyoko')
    assert.equal(c.name, 'Kyoko')
    assert.match(c.id, /^companion_kyoko_[0-9a-z]{4}$/)
  })
  it('a random built-in character without a preset, the same for the same seed', () => {
    assert.deepEqual(generateCard(seededRandom(5)), generateCard(seededRandom(5)))
    assert.ok(PRESETS.some(p => p.name === generateCard(seededRandom(9)).name))
  })
  it('edits keep the id, trim, and refuse an empty name or an over-long field', () => {
    const c = generateCard(seededRandom(1), 'aya')
    const ok = editCard(c, { name: '  Ayana ', personality: 'calm', story: '', sample: 'Hi.' })
    assert.deepEqual(ok, { ok: true, card: { id: c.id, name: 'Ayana', personality: 'calm', story: '', sample: 'Hi.' } })
    const empty = editCard(c, { name: ' ', personality: '', story: '', sample: '' })
    assert.equal(empty.ok, false)
    assert.match((empty as { message: string }).message, /name/)
    assert.equal(editCard(c, { name: 'A', personality: 'x'.repeat(301), story: '', sample: '' }).ok, false)
  })
  it('toCard keeps exactly the five aikyo fields and refuses non-cards', () => {
    assert.deepEqual(toCard({ ...aya, extra: 1 }), aya)
    assert.equal(toCard({ id: 'x' }), undefined)
  })
})

describe('built-in brain', () => {
  const brain = createBuiltinBrain({ seed: 'test' })

  it('is deterministic for a seed, and another seed can differ', async () => {
    // Two brains of one seed, in the same situation (one remembers what it said: see below).
    const a = await createBuiltinBrain({ seed: 'same' }).write(context(aya), { replyTo: hello, vote: null, greet: null, conversation: conv() }, signal)
    const b = await createBuiltinBrain({ seed: 'same' }).write(context(aya), { replyTo: hello, vote: null, greet: null, conversation: conv() }, signal)
    assert.deepEqual(a, b)
    const others = await Promise.all(['s1', 's2', 's3', 's4'].map(seed =>
      createBuiltinBrain({ seed }).write(context(aya), { replyTo: hello, vote: null, greet: null, conversation: conv() }, signal)))
    assert.ok(others.some(o => o.text !== a.text), 'different seeds give different lines')
  })

  it('wants to answer a person who addresses it, and most when asked by name', async () => {
    for (const self of [aya, ren, mio]) {
      const j = await brain.judge(context(self), { message: hello, selected: false, conversation: conv() }, signal)
      assert.equal(j.state, 'speak')
      assert.ok(j.importance >= 6)
      const named = await brain.judge(context(self), { message: { ...hello, to: [self.id] }, selected: true, conversation: conv() }, signal)
      assert.ok(named.importance >= 9)
    }
  })

  it('answers the person by name, addressing them and the other companions', async () => {
    const line = await brain.write(context(ren), { replyTo: hello, vote: null, greet: null, conversation: conv() }, signal)
    assert.match(line.text, /^Yamada, /)
    assert.ok(line.to.includes('user_yamada'))
    assert.ok(line.to.includes(aya.id) && line.to.includes(mio.id))
    assert.ok(!line.to.includes(ren.id))
    assert.ok(line.actions.some(a => a.name === 'emotion'))
  })

  it('speaks in character: different personalities, different voices', async () => {
    const voices = new Set([aya, ren, mio].map(c => voiceFor(c.personality)))
    assert.equal(voices.size, 3)
    const lines = await Promise.all([aya, ren, mio].map(c =>
      brain.write(context(c), { replyTo: { ...hello, from: 'companion_kyoko', text: 'I went to the lantern festival' }, vote: null, greet: null, conversation: conv(3) }, signal)))
    assert.equal(new Set(lines.map(l => l.text)).size, 3)
    for (const l of lines) assert.match(l.text, /lantern|festival/i, 'reacts to what was said')
  })

  it('greets a newcomer by name with a wave', async () => {
    const line = await brain.write(context(aya), { replyTo: null, vote: null, greet: mio.id, conversation: conv(0) }, signal)
    assert.match(line.text, /Mio/)
    assert.equal(line.to[0], mio.id)
    assert.deepEqual(line.actions[0], { name: 'gesture', params: { gesture: 'wave' } })
  })

  it('winds down at pre-closing and says goodbye at closing', async () => {
    const vote = (closing: 'pre-closing' | 'closing') => ({ from: aya.id, state: 'speak' as const, importance: 5, selected: false, closing })
    const pre = await brain.write(context(aya), { replyTo: hello, vote: vote('pre-closing'), greet: null, conversation: conv(8) }, signal)
    const bye = await brain.write(context(aya), { replyTo: hello, vote: vote('closing'), greet: null, conversation: conv(9) }, signal)
    assert.match(pre.text, /soon|wrap|time/i)
    assert.match(bye.text, /bye|see you|later/i)
    assert.ok(bye.actions.some(a => a.name === 'gesture' && a.params.gesture === 'wave'))
  })

  it('sometimes proposes pre-closing late in a conversation, never early', async () => {
    const early = await Promise.all(Array.from({ length: 30 }, (_, i) =>
      brain.judge(context(aya), { message: { ...hello, id: `e${i}`, from: ren.id }, selected: false, conversation: conv(2) }, signal)))
    assert.ok(early.every(j => j.closing === 'none'))
    const late = await Promise.all(Array.from({ length: 60 }, (_, i) =>
      brain.judge(context(aya), { message: { ...hello, id: `l${i}`, from: ren.id }, selected: false, conversation: conv(9) }, signal)))
    assert.ok(late.some(j => j.closing === 'pre-closing'))
  })

  it('finds the topic of a line: never a filler word, an adverb, a name or an id', () => {
    const cases: Array<[string, string]> = [
      ['Hello everyone, how was the festival?', 'festival'],
      ['I went to the lantern festival', 'lantern festival'],
      ['Aya, what about dinner?', 'dinner'],
      ['Hi!', 'that'],
      ['That is interesting; exactly has more layers than it seems.', 'layers'],
      ['Scientifically, bees dance.', 'bees'],
      ['Scientifically, what do you do all day?', 'that'],
      ['I adopted a puppy yesterday!', 'puppy'],
      ['What kind of photos do you take, Bastian?', 'photos'],
      ['user_probe42 asked about gardens', 'gardens'],
      ['My family grows tomatoes', 'tomatoes'],
      ['Ayaleen and the family', 'family'],
      ['最近どんな写真を撮りましたか？', '写真'],
      ['Ayaさん、今日は花火大会に行きました！', '花火大会'],
      ['こんにちは！', 'それ']
    ]
    for (const [text, topic] of cases) assert.equal(topicOf(text, ['Aya', 'Bastian']), topic, text)
  })

  it('never says the same line twice, and varies them', async () => {
    const own = createBuiltinBrain({ seed: 'memory' })
    const lines: string[] = []
    // A dozen lines on one topic: what it says about it never comes twice.
    for (let i = 0; i < 12; i++) {
      const line = { id: `r${i}`, from: ren.id, to: [aya.id, mio.id], text: 'Tell me about the lanterns' }
      lines.push((await own.write(context(aya), { replyTo: line, vote: null, greet: null, conversation: conv(2) }, signal)).text)
    }
    assert.equal(new Set(lines).size, lines.length, lines.join('\n'))
  })

  it('calls a person by the name they go by, or by none: never by a piece of their id', async () => {
    const stranger: HistoryLine = { id: 'p1', from: 'user_probe', to: [aya.id], text: 'What do you like to do?' }
    const anonymous = { ...context(aya), nameOf: (id: string) => id === 'user_probe' ? '' : context(aya).nameOf(id) }
    const line = await brain.write(anonymous, { replyTo: stranger, vote: null, greet: null, conversation: conv() }, signal)
    assert.doesNotMatch(line.text, /probe|^,/)
    const named = await brain.write(context(aya), { replyTo: { ...stranger, id: 'p2', from: 'user_yamada' }, vote: null, greet: null, conversation: conv() }, signal)
    assert.match(named.text, /^Yamada, /)
  })

  it('answers a line in Japanese in Japanese, and a card written in Japanese speaks it', async () => {
    const question: HistoryLine = { id: 'j1', from: 'user_yamada', to: [aya.id], text: '最近どんな写真を撮りましたか？' }
    const reply = await brain.write(context(aya), { replyTo: question, vote: null, greet: null, conversation: conv() }, signal)
    assert.match(reply.text, /[\p{Script=Hiragana}]/u)
    assert.doesNotMatch(reply.text.replace(/Yamada|Aya|Ren|Mio/g, ''), /[A-Za-z]{2,}/, reply.text)
    const yui: CompanionCard = { id: 'companion_yui', name: 'ユイ', personality: '明るくて好奇心旺盛', story: '京都で写真を撮っています。', sample: 'こんにちは！' }
    const hers = await brain.write({ ...context(aya), card: yui }, { replyTo: hello, vote: null, greet: null, conversation: conv() }, signal)
    assert.match(hers.text, /[\p{Script=Hiragana}]/u)
  })
})
