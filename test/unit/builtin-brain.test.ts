import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createBuiltinBrain, readLine, topicOf, voiceFor } from '../../companion/builtin-brain.ts'
import { topicsOf } from '../../companion/mind/reading.ts'
import type { Reading } from '../../companion/mind/reading.ts'
import { storyOf } from '../../companion/mind/story.ts'
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
      ['Hello everyone, how was the festival?', 'the festival'],
      ['I went to the lantern festival', 'the lantern festival'],
      ['Aya, what about dinner?', 'dinner'],
      ['Hi!', 'that'],
      ['That is interesting; exactly has more layers than it seems.', 'layers'],
      ['Scientifically, bees dance.', 'bees'],
      ['Scientifically, what do you do all day?', 'that'],
      ['I adopted a puppy yesterday!', 'the puppy'],
      ['Do you like swimming?', 'swimming'],
      ['I keep bees on a rooftop in Cairo.', 'the rooftop'],
      ['I am a photographer who lives in Berlin.', 'Berlin'],
      ['I think it is going well, honestly.', 'that'],
      ['Any advice for a beginner photographer?', 'the beginner photographer'],
      ['What kind of photos do you take, Bastian?', 'photos'],
      ['user_probe42 asked about gardens', 'gardens'],
      ['My family grows tomatoes', 'tomatoes'],
      ['Ayaleen and the family', 'the family'],
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

describe('the built-in mind reads a line', () => {
  const names = ['Noor', 'Bastian', 'ユイ']
  it('knows its kind, and the kind of a question and whom it is put to (English and Japanese)', () => {
    const cases: Array<[string, Partial<Reading>]> = [
      ['Hello everyone!', { act: 'greeting' }],
      ['Hi Noor!', { act: 'greeting' }],
      ['How are you, Noor?', { act: 'howareyou' }],
      ['How is it going with the puppy?', { act: 'question', question: 'opinion' }],
      ['Thanks, that helps!', { act: 'thanks' }],
      ['Bye everyone, see you tomorrow.', { act: 'farewell' }],
      ['I adopted a puppy yesterday!', { act: 'news', topic: 'the puppy' }],
      ['I am so tired today.', { act: 'feeling', feeling: 'sad' }],
      ['Do you like swimming?', { act: 'question', question: 'yesno', aboutYou: true, topic: 'swimming' }],
      ['Noor, where do you sell your honey?', { act: 'question', question: 'where', aboutYou: true, askedName: 'Noor', topic: 'honey' }],
      ['When do you develop your prints, Bastian?', { act: 'question', question: 'when', askedName: 'Bastian' }],
      ['Why did you start taking photos?', { act: 'question', question: 'why', aboutYou: true }],
      ['How do you keep bees?', { act: 'question', question: 'how', aboutYou: true }],
      ['Who taught you to read the hives?', { act: 'question', question: 'who', aboutYou: true }],
      ['What do you do all day?', { act: 'question', question: 'what', aboutYou: true }],
      ['Any advice for a beginner gardener?', { act: 'question', question: 'advice' }],
      ['Should I learn the guitar?', { act: 'question', question: 'advice' }],
      ['What do you think about the festival?', { act: 'question', question: 'opinion' }],
      ['Oh, lanterns! So, Noor, what do you think about lanterns?', { act: 'question', question: 'opinion', askedName: 'Noor', topic: 'lanterns' }],
      ['Where is the festival?', { act: 'question', question: 'where', aboutYou: false }],
      ['こんにちは！', { act: 'greeting', japanese: true }],
      ['ありがとう！', { act: 'thanks' }],
      ['お元気ですか？', { act: 'howareyou' }],
      ['ユイさん、どこで写真を撮りますか？', { act: 'question', question: 'where', askedName: 'ユイ', topic: '写真' }],
      ['いつ写真を撮りますか？', { act: 'question', question: 'when' }],
      ['なぜカフェで働いているんですか？', { act: 'question', question: 'why' }],
      ['どうすれば写真が上手になりますか？', { act: 'question', question: 'advice' }],
      ['カメラは好きですか？', { act: 'question', question: 'yesno', topic: 'カメラ' }],
      ['昨日、花火大会に行きました！', { act: 'news', topic: '花火大会' }]
    ]
    for (const [text, expected] of cases) {
      const reading = readLine(text, names)
      for (const [key, value] of Object.entries(expected)) assert.deepEqual(reading[key as keyof Reading], value, `${text}: ${key}`)
    }
  })
  it('hears what a speaker says about themselves, not their opinions', () => {
    assert.deepEqual(readLine('I live in Osaka and I have two cats. I think that is great.').selfFacts, ['I live in Osaka and I have two cats'])
    assert.deepEqual(readLine('I am so happy for you, Lena. I hope it goes well.', ['Lena']).selfFacts, [])
    assert.deepEqual(readLine('Noor, I am a nurse.', ['Noor']).selfFacts, ['I am a nurse'])
  })

  it('reads a text read lately as the first time, whoever changed what it was given (topics are kept for the next reading)', () => {
    const text = 'My grandmother kept bees on a rooftop in Cairo.'
    const first = readLine(text, names)
    const expected = structuredClone(first)
    assert.ok(expected.topics.length > 0)
    first.topics.push('changed by its reader')
    delete first.topic
    assert.deepEqual(readLine(text, names), expected)
    const topics = topicsOf(text, names)
    topics.length = 0
    assert.deepEqual(topicsOf(text, names), expected.topics)
    // The names present are part of what is read: a name is never a topic.
    assert.ok(readLine('Cairo, where is the market?').topics.includes('Cairo'))
    assert.ok(!readLine('Cairo, where is the market?', ['Cairo']).topics.includes('Cairo'))
  })
})

describe('the built-in mind tells its story in the first person', () => {
  it('whatever way the card is written', () => {
    const cases: Array<[Pick<CompanionCard, 'name' | 'personality' | 'story'>, string[]]> = [
      [{ name: 'Aya', personality: '', story: 'Grew up in a seaside town and collects stories from everyone she meets.' }, ['I grew up in a seaside town and collect stories from everyone I meet']],
      [{ name: 'Kyoko', personality: '', story: 'A librarian who reads three books at once and remembers all of them.' }, ['I am a librarian who reads three books at once and remembers all of them']],
      [{ name: 'Ren', personality: '', story: 'Fixes bicycles by day and tells terrible jokes by night.' }, ['I fix bicycles by day and tell terrible jokes by night']],
      [{ name: 'Kai', personality: '', story: 'Has climbed four mountains and fallen off one.' }, ['I have climbed four mountains and fallen off one']],
      [{ name: 'Noor', personality: '', story: 'Noor keeps bees on a rooftop in Cairo. She sells honey at the Friday market and her grandmother taught her to read the hives.' },
        ['I keep bees on a rooftop in Cairo', 'I sell honey at the Friday market and my grandmother taught me to read the hives']],
      [{ name: 'Bastian', personality: '', story: 'You are Bastian, a photographer who lives in Berlin. You love old film cameras and develop your own prints.' },
        ['I am a photographer who lives in Berlin', 'I love old film cameras and develop my own prints']],
      [{ name: 'ユイ', personality: '', story: 'ユイは京都のカフェで働いています。休みの日は写真を撮ります。' }, ['私は京都のカフェで働いています', '休みの日は写真を撮ります']]
    ]
    for (const [card, facts] of cases) assert.deepEqual(storyOf(card).facts.map(f => f.text), facts, card.story)
    const noor = storyOf(cases[4][0])
    assert.equal(noor.facts[0].place, 'on a rooftop in Cairo')
    assert.equal(noor.facts[1].place, 'at the Friday market')
    assert.equal(storyOf(cases[2][0]).facts[0].time, 'by day')
    assert.equal(storyOf(cases[6][0]).facts[0].place, '京都のカフェ')
    assert.equal(storyOf({ name: 'A', personality: 'calm and thoughtful; speaks carefully', story: '' }).traits, 'calm and thoughtful')
  })
})

describe('the built-in mind answers a question of its kind, from its story', () => {
  const noor: CompanionCard = { id: 'companion_noor', name: 'Noor', personality: 'warm and patient', story: 'Noor keeps bees on a rooftop in Cairo. She sells honey at the Friday market every Saturday.', sample: 'Patience makes the sweetest honey.' }
  const ask = async (text: string, seed = 'kinds'): Promise<string> => {
    const line: HistoryLine = { id: `q-${text}`, from: 'user_yamada', to: [noor.id], text }
    return (await createBuiltinBrain({ seed }).write({ ...context(aya), card: noor, companions: [aya] }, { replyTo: line, vote: null, greet: null, conversation: conv() }, signal)).text
  }
  it('where, when, why, yes or no, what it does, advice', async () => {
    assert.match(await ask('Noor, where do you sell your honey?'), /^Yamada, I sell honey at the Friday market/)
    assert.match(await ask('Noor, when do you sell your honey?'), /every Saturday/)
    assert.match(await ask('Noor, why do you keep bees?'), /because I keep bees/i)
    assert.match(await ask('Noor, do you like bees?'), /(yes|I do).*I keep bees/i)
    assert.match(await ask('Noor, do you like skiing?'), /not|no\b/i)
    assert.match(await ask('Noor, what do you do?'), /I keep bees|I sell honey/)
    assert.match(await ask('Any advice for a beginner gardener, Noor?'), /beginner gardener/)
    assert.match(await ask('ノールさん、どこではちみつを売っていますか？'), /[\p{Script=Hiragana}]/u)
  })
  it('greets back, thanks back, cheers good news and comforts', async () => {
    assert.match(await ask('Hi Noor!'), /Yamada/)
    assert.match(await ask('Thank you, Noor!'), /welcome|of course/i)
    assert.match(await ask('I adopted a puppy yesterday!'), /puppy/)
    assert.match(await ask('I am so tired and sad today.'), /sorry|kind to yourself|happened/i)
  })
  it('recalls what someone told of themselves', async () => {
    const brain = createBuiltinBrain({ seed: 'recall' })
    const told: HistoryLine = { id: 'told', from: 'user_yamada', to: [aya.id], text: 'I live in Osaka and I have two cats.' }
    const lines: string[] = []
    for (let i = 0; i < 8; i++) {
      const line: HistoryLine = { id: `c${i}`, from: ren.id, to: [aya.id, 'user_yamada'], text: 'The lanterns were lovely this year.' }
      lines.push((await brain.write(context(aya, [told, line]), { replyTo: line, vote: null, greet: null, conversation: conv(3) }, signal)).text)
    }
    assert.ok(lines.some(l => /Yamada, you (said|told us) you live in Osaka/.test(l)), lines.join('\n'))
  })
})
