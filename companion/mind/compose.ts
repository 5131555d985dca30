/**
 * Writing a line: what the line answered asks for (read by reading.ts), in
 * the companion's voice, from its story and its memory. A question put to it
 * gets an answer of the question's kind; a hello, thanks, news or a feeling
 * gets a fitting reply; otherwise it reacts, shares something of its own,
 * recalls what someone told of themselves, and passes the turn on by asking
 * someone. It stays on a topic a few lines, then moves on to one of its own.
 */
import { pick } from '../random.ts'
import type { HistoryLine } from '../turn-state.ts'
import type { Memory, Shape } from './memory.ts'
import { mentions } from './memory.ts'
import { topicCore } from './reading.ts'
import type { QuestionKind, Reading } from './reading.ts'
import type { Fact, Story } from './story.ts'
import { J_MORE_GOODBYES, J_MORE_PRE_CLOSING, MORE_GOODBYES, MORE_PRE_CLOSING } from './voices.ts'
import type { Voice } from './voices.ts'

/** A companion to pass the turn to. */
export interface Other { id: string, name: string }

export interface Situation {
  voice: Voice
  story: Story
  memory: Memory
  /** It speaks Japanese in this line. */
  japanese: boolean
  replyTo: HistoryLine
  reading: Reading
  /** The name the one answered goes by ('' for a person with none). */
  speakerName: string
  fromPerson: boolean
  /** The line's question is put to this companion (by name, or to it alone, or by a person to all). */
  asked: boolean
  /** Companions present other than itself and the one answered. */
  others: Other[]
  /** People who spoke lately, with the names they go by ('' for none). */
  people: Other[]
  history: HistoryLine[]
  /** The companion's sample line (said with its first lines, now and then). */
  sample: string
  firstLines: boolean
}

export interface Draft {
  text: string
  shape: Shape
  /** What the line is about. */
  topic?: string
  /** The kind of question it answered. */
  answered?: QuestionKind
}

/** Fills a phrase: a `{name}` with no name goes with its comma ("Hi {name}!" → "Hi!"). */
export function fill (template: string, values: Record<string, string>): string {
  let text = template
  if (values.name === '') text = text.replace(/\s*\{name\}(さん)?[、]?/g, '')
  text = text.replace(/\{(\w+)\}/g, (_, key: string) => values[key] ?? '')
  return upperFirst(text.replace(/^[,、]\s*/, '').replace(/\s+([,!?.。、])/g, '$1').replace(/,([!?.])/g, '$1').replace(/\s{2,}/g, ' ').trim())
    .replace(/([.!?]\s+)([a-z])/g, (_, end: string, first: string) => `${end}${first.toUpperCase()}`)
}

const upperFirst = (text: string): string => text.length > 0 && /^[a-z]/.test(text) ? text[0].toUpperCase() + text.slice(1) : text
export const lowerFirst = (text: string): string => text.length > 0 && !/^[A-Z]{2}|^I\b/.test(text) ? text[0].toLowerCase() + text.slice(1) : text

/** "I live in Osaka" said back to its speaker: "you live in Osaka". */
function toSecondPerson (fact: string): string {
  return fact.replace(/\bI'm\b/g, 'you are').replace(/\bI am\b/g, 'you are').replace(/\bI've\b/g, 'you have').replace(/\bI was\b/g, 'you were')
    .replace(/\bI\b/g, 'you').replace(/\bmy\b/gi, 'your').replace(/\bme\b/g, 'you').replace(/\bmine\b/g, 'yours').replace(/\bmyself\b/g, 'yourself')
}

const join = (...parts: string[]): string => parts.filter(p => p !== '').join(' ')

/** Its story told in its voice. */
const share = (s: Situation, random: () => number, fact: Fact): string =>
  fill(pick(random, s.voice.shares), { fact: fact.text })

const FOLLOW_UPS = ['How did it go?', 'What was the best part?', 'What happened next?', 'How did that feel?']
const TOPIC_FOLLOW_UPS = ['Tell us more about {topic}!', 'How is it going with {topic}?', 'What is {topic} like?']
const J_FOLLOW_UPS = ['どうでしたか？', '一番よかったのは何ですか？']
const RECALLS = ['{name}, you said {fact}. How is that going?', '{name}, you told us {fact}. Tell us more!', 'Wait, {name}, you said {fact}, right? What is that like?']
const ASK_BACK = ['And you, {name}?', 'What about you, {name}?', 'How about you, {name}?']
const J_ASK_BACK = ['{name}さんはどうですか？', '{name}さんは？']
const MOVE_ON = ['Anyway, on another note:', 'Changing the subject a little:', 'That reminds me of something else.', 'Oh, before I forget:', '']
const J_MOVE_ON = ['ところで、', '話は変わりますが、']

/** An answer to a question about itself, of the question's kind. */
function aboutMe (s: Situation, random: () => number, kind: QuestionKind, topic: string | undefined): string {
  const { voice, story, memory } = s
  // The fact about what was asked: its topic, or the time it names ("what do you do in the morning?" → "every morning").
  const heard = s.replyTo.text.toLowerCase()
  const related = (topic === undefined ? undefined : story.facts.find(f => mentions(f, topic))) ??
    story.facts.find(f => f.time?.toLowerCase().split(' ').some(w => w.length > 3 && w !== 'every' && heard.includes(w)))
  const own = related ?? memory.factFor(story, topic)
  const told = (fact: Fact | undefined): string => fact === undefined ? '' : ` ${share(s, random, fact)}`
  const topical = fill(pick(random, voice.answers), { topic: topic ?? (own?.topics[0] ?? 'that') })
  if (s.japanese) {
    const place = story.japanese ? story.facts.find(f => f.place !== undefined)?.place : undefined
    const time = story.japanese ? story.facts.find(f => f.time !== undefined)?.time : undefined
    const fact = story.japanese ? own : undefined
    if (topic === undefined && fact !== undefined && kind !== 'where' && kind !== 'when') return share(s, random, fact)
    switch (kind) {
      case 'yesno': return related !== undefined && story.japanese ? `${pick(random, voice.yes)}${told(related)}` : topical
      case 'where': return place !== undefined ? `たいてい${place}です。` : fill('{topic}なら、この近くにもあると思います。', { topic: topic ?? 'それ' })
      case 'when': return time !== undefined ? `${time}が多いです。` : 'だいたい夕方です。'
      case 'why': return `${topic ?? 'それ'}が好きだからです。`
      case 'how': return 'ゆっくり、少しずつです。'
      case 'who': return `私です！${told(fact)}`
      case 'advice': return fill(pick(random, voice.advice), { topic: topic ?? 'それ' })
      case 'what': return fact !== undefined ? share(s, random, fact) : topical
      default: return topical
    }
  }
  const placed = story.facts.find(f => f.place !== undefined && (related === undefined || f === related)) ?? story.facts.find(f => f.place !== undefined)
  const timed = story.facts.find(f => f.time !== undefined && (related === undefined || f === related)) ?? story.facts.find(f => f.time !== undefined)
  switch (kind) {
    case 'yesno': return related !== undefined ? `${pick(random, voice.yes)}${told(related)}` : `${pick(random, voice.no)}${told(own)}`
    // Where: the fact that says it ("I sell honey at the Friday market"), or, told already, the place.
    case 'where': return placed?.place === undefined
      ? `Here and there, honestly.${told(own)}`
      : memory.timesTold(placed) === 0
        ? `${placed.text}.`
        : join(fill(pick(random, ['Mostly {place}.', 'You will find me {place}.', '{place}, usually.']), { place: placed.place }), random() < 0.5 ? pick(random, ['Come by some time!', 'You should visit.']) : '')
    case 'when': return timed?.time !== undefined
      ? `${fill(pick(random, ['Usually {time}.', '{time}, mostly.']), { time: timed.time })}${told(timed)}`
      : `${pick(random, ['Whenever I can, usually in the evening.', 'Most days, when it is quiet.'])}${told(own)}`
    case 'why': return related !== undefined
      ? `Because ${lowerFirst(related.text)}.`
      : story.traits !== '' ? `Because I am ${story.traits}, I suppose.${told(own)}` : `Honestly? It just makes me happy.${told(own)}`
    case 'how': return `${pick(random, ['Slowly, and with a lot of patience.', 'One small step at a time.', 'With practice, mostly.'])}${told(own)}`
    case 'who': return `${pick(random, ['Me, mostly!', 'Usually me.'])}${told(own)}`
    case 'advice': return fill(pick(random, voice.advice), { topic: topic ?? 'it' })
    case 'what': return own !== undefined && (related !== undefined || topic === undefined) ? share(s, random, own) : topical
    default: return topical
  }
}

/** An answer to a question not about itself (where the festival is, what someone should do). */
function aboutTheWorld (s: Situation, random: () => number, kind: QuestionKind, topic: string): string {
  const opinion = fill(pick(random, s.voice.answers), { topic })
  if (s.japanese) return kind === 'advice' ? fill(pick(random, s.voice.advice), { topic }) : opinion
  switch (kind) {
    case 'advice': return fill(pick(random, s.voice.advice), { topic })
    case 'where': return `I am not sure where, but ${lowerFirst(opinion)}`
    case 'when': return `I could not tell you when, but ${lowerFirst(opinion)}`
    case 'who': return `I do not know who, but ${lowerFirst(opinion)}`
    case 'why': return `Maybe because ${topic} means something different to each of us. ${opinion}`
    default: return opinion
  }
}

/** Asks someone else about `topic`: the turn goes on. */
function passTurn (s: Situation, random: () => number, topic: string): string {
  if (s.others.length === 0) {
    return s.fromPerson ? fill(pick(random, s.japanese ? J_ASK_BACK : ASK_BACK), { name: s.speakerName }) : ''
  }
  return fill(pick(random, s.voice.questions), { name: pick(random, s.others).name, topic })
}

/** How many of the last lines were about `topic`. */
function topicRun (history: readonly HistoryLine[], topic: string): number {
  let run = 0
  for (const line of [...history].reverse()) {
    if (!line.text.toLowerCase().includes(topicCore(topic).toLowerCase())) break
    run++
  }
  return run
}

/** Lines that answer what the line said to it. */
function reply (s: Situation, random: () => number): Draft | undefined {
  const { reading, voice } = s
  const name = s.speakerName
  const topic = reading.topic
  if (reading.act === 'question' && s.asked && (reading.aboutYou || topic !== undefined || s.fromPerson)) {
    const kind = reading.question ?? 'yesno'
    const answer = reading.aboutYou ? aboutMe(s, random, kind, topic) : aboutTheWorld(s, random, kind, topic ?? (s.japanese ? 'それ' : 'that'))
    const addressed = s.fromPerson && name !== '' && !answer.includes(name)
      ? (s.japanese ? `${name}さん、${answer}` : `${name}, ${lowerFirst(answer)}`)
      : answer
    return { text: addressed, shape: 'answer', answered: kind, ...(topic === undefined ? {} : { topic }) }
  }
  const back = (): string => fill(pick(random, s.japanese ? J_ASK_BACK : ASK_BACK), { name })
  const fact = s.memory.factFor(s.story)
  const factLine = fact === undefined || s.memory.timesTold(fact) > 0 || (s.japanese && !s.story.japanese) ? '' : share(s, random, fact)
  switch (reading.act) {
    case 'greeting': return { text: join(fill(pick(random, voice.hellos), { name }), factLine), shape: 'hello' }
    case 'howareyou': return { text: join(pick(random, voice.wellbeing), factLine, s.fromPerson ? back() : ''), shape: 'wellbeing' }
    case 'thanks': return { text: fill(pick(random, voice.welcome), { name }), shape: 'welcome' }
    case 'farewell': return { text: pick(random, voice.goodbyes), shape: 'farewell' }
    case 'feeling': return reading.feeling === 'happy'
      ? { text: fill(pick(random, voice.cheer), { name }), shape: 'cheer' }
      : { text: fill(pick(random, voice.comfort), { name }), shape: 'comfort' }
    case 'news': return {
      text: join(fill(pick(random, voice.cheer), { name }), topic === undefined || s.japanese ? pick(random, s.japanese ? J_FOLLOW_UPS : FOLLOW_UPS) : fill(pick(random, TOPIC_FOLLOW_UPS), { topic })),
      shape: 'news',
      ...(topic === undefined ? {} : { topic })
    }
    default: return undefined
  }
}

/** Lines that carry a conversation on: react, share, recall, move on; each with a question to someone. */
function carryOn (s: Situation, random: () => number): Draft {
  const { voice, story, memory } = s
  const heard = s.reading.topic
  const canShare = !s.japanese || story.japanese
  // On one topic for a few lines: on to one of its own.
  if (canShare && (heard === undefined || topicRun(s.history, heard) >= 3)) {
    const fact = memory.factFor(story, undefined, heard === undefined ? undefined : story.facts.find(f => mentions(f, heard)))
    if (fact !== undefined) {
      const topic = fact.topics[0] ?? heard ?? ''
      const opener = pick(random, MOVE_ON)
      const told = s.japanese ? `${pick(random, J_MOVE_ON)}${fact.text}。` : opener === '' ? share(s, random, fact) : `${opener} ${fact.text}.`
      if (heard === undefined && !s.japanese && random() < 0.5) return { text: join(share(s, random, fact), passTurn(s, random, topic)), shape: 'share+ask', topic }
      return { text: join(told, passTurn(s, random, topic)), shape: 'move-on', topic }
    }
  }
  const topic = heard ?? (s.japanese ? 'それ' : 'that')
  const shapes: Shape[] = ['react+ask']
  const related = canShare ? story.facts.find(f => mentions(f, topic)) : undefined
  const own = canShare ? memory.factFor(story, topic) : undefined
  // Its story, told once or twice, not over and over.
  if (own !== undefined && memory.timesTold(related ?? own) < 2) shapes.push('react+share', 'share+ask')
  const recall = s.japanese ? undefined : memory.toRecall([s.replyTo.from, ...s.people.map(p => p.id), ...s.others.map(o => o.id)])
  if (recall !== undefined) shapes.push('recall+ask')
  const fresh = shapes.filter(shape => shape !== memory.shapes.at(-1))
  const shape = pick(random, fresh.length > 0 ? fresh : shapes)
  const reaction = fill(pick(random, voice.reactions), { topic })
  const sample = s.firstLines && random() < 0.5 ? s.sample : ''
  switch (shape) {
    case 'react+share': return { text: join(reaction, share(s, random, related ?? own!), sample), shape, topic }
    case 'share+ask': {
      const fact = related ?? own!
      return { text: join(share(s, random, fact), passTurn(s, random, fact.topics[0] ?? topic)), shape, topic: fact.topics[0] ?? topic }
    }
    case 'recall+ask': {
      const { id, fact } = recall!
      const whom = id === s.replyTo.from ? s.speakerName : [...s.people, ...s.others].find(o => o.id === id)?.name ?? ''
      if (whom !== '') {
        memory.recalled(id, fact)
        return { text: join(reaction, fill(pick(random, RECALLS), { name: whom, fact: toSecondPerson(fact) })), shape, topic }
      }
      return { text: join(reaction, passTurn(s, random, topic)), shape: 'react+ask', topic }
    }
    default: return { text: join(reaction, sample, passTurn(s, random, topic)), shape: 'react+ask', topic }
  }
}

/** Japanese runs on without spaces between its sentences. */
const tidy = (s: Situation, draft: Draft): Draft => s.japanese ? { ...draft, text: draft.text.replace(/([。！？、])\s+/g, '$1') } : draft

/**
 * The line to say next (a draft: the caller makes sure it was not said
 * before). A line that asks nothing passes the turn on by asking someone
 * by name (but a goodbye): a conversation then goes on until it winds
 * down, instead of stopping when by chance nobody feels like speaking.
 */
export function compose (s: Situation, random: () => number): Draft {
  const draft = reply(s, random) ?? carryOn(s, random)
  if (draft.shape !== 'farewell' && !/[?？]$/.test(draft.text)) {
    draft.text = join(draft.text, passTurn(s, random, draft.topic ?? s.memory.factFor(s.story)?.topics[0] ?? (s.japanese ? 'それ' : 'that')))
  }
  return tidy(s, draft)
}

/** A line of its own story, for when every draft was said before. */
export function lastResort (s: Situation, random: () => number): Draft {
  const fact = s.memory.factFor(s.story)
  const told = fact === undefined ? s.sample : share(s, random, fact)
  return tidy(s, { text: join(told, passTurn(s, random, fact?.topics[0] ?? 'that'), s.sample), shape: 'share+ask' })
}

const FAREWELL_TAILS = ['Back to {own} for me!', 'Until next time, {name}!', 'Take care, {name}.', 'I will be thinking about {own}.']
const J_FAREWELL_TAILS = ['{name}さん、またね！', '{own}の話、また今度しましょう。']

/**
 * Winding down (`pre-closing`) or goodbye (`closing`): its voice's own
 * phrases first; then any voice's, with a word of its own (what it goes
 * back to, whom it hopes to see again), so that no goodbye comes twice.
 */
export function windDown (stage: 'pre-closing' | 'closing', voice: Voice, story: Story, japanese: boolean, names: readonly string[], random: () => number): { own: () => Draft, more: () => Draft } {
  const shape: Shape = stage
  const ownWords = japanese === story.japanese ? story.facts.flatMap(f => f.topics.slice(0, 1)) : []
  const own = (): Draft => ({ text: pick(random, stage === 'closing' ? voice.goodbyes : voice.preClosing), shape })
  const more = (): Draft => {
    const phrase = pick(random, japanese ? (stage === 'closing' ? J_MORE_GOODBYES : J_MORE_PRE_CLOSING) : (stage === 'closing' ? MORE_GOODBYES : MORE_PRE_CLOSING))
    const tails = (japanese ? J_FAREWELL_TAILS : FAREWELL_TAILS).filter(t => (!t.includes('{own}') || ownWords.length > 0) && (!t.includes('{name}') || names.length > 0))
    const tail = tails.length === 0 ? '' : fill(pick(random, tails), { own: ownWords.length > 0 ? pick(random, ownWords) : '', name: names.length > 0 ? pick(random, names) : '' })
    return { text: japanese ? `${phrase}${tail}` : join(phrase, tail), shape }
  }
  return { own, more }
}
