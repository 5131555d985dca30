/**
 * What a companion can tell of itself, from its card: its story as facts in
 * the first person ("Keeps bees on a rooftop." becomes "I keep bees on a
 * rooftop"), each with its topics and the place and time it names, and its
 * traits (the personality, short). Cards are written every which way
 * (aikyo's often say "You are …", ours are fragments, some are Japanese):
 * the sentence's subject, whatever it is, becomes "I".
 */
import nlp from 'compromise'
import type { CompanionCard } from '../../protocol/payloads.ts'
import { escapeRegExp, isJapanese, sentencesOf, topicsOf } from './reading.ts'

export interface Fact {
  /** In the first person, without its end mark. */
  text: string
  topics: string[]
  /** Where, as the story says it ("on a rooftop in Cairo", "京都のカフェ"). */
  place?: string
  /** When ("by night", "every morning", "週末"). */
  time?: string
}

export interface Story {
  japanese: boolean
  facts: Fact[]
  /** The personality in a few words ("cheerful and curious"), or '' when it is long or not a list of traits. */
  traits: string
}

const IRREGULAR: Record<string, string> = { is: 'am', was: 'was', has: 'have', does: 'do', goes: 'go' }

/** The first-person form of a verb said of someone else ("keeps" → "keep", "has" → "have"). */
function firstPerson (verb: string): string {
  const lower = verb.toLowerCase()
  if (IRREGULAR[lower] !== undefined) return IRREGULAR[lower]
  if (!/s$/.test(lower)) return lower
  const doc = nlp(lower)
  doc.tag('Verb')
  const base = doc.verbs().toInfinitive().text()
  return base === '' ? lower : base
}

/** Whether the first word of `text` is tagged `tag`. */
const firstWordIs = (text: string, tag: string): boolean => {
  const terms = nlp(text).json()[0]?.terms as Array<{ tags: string[] }> | undefined
  return terms?.[0]?.tags.includes(tag) === true
}

/** One sentence of an English story, in the first person; undefined when it is not about the companion. */
function englishFact (sentence: string, name: string): string | undefined {
  let s = sentence.replace(/[.!]+$/, '').trim()
  if (s === '') return undefined
  const subject = `(?:She|He|They|${name === '' ? 'She' : escapeRegExp(name)})`
  let verbFirst = true
  if (/^(You are|You're)\s/i.test(s)) { s = s.replace(/^(You are|You're)\s/i, 'I am ').replace(new RegExp(`^I am ${escapeRegExp(name)},\\s*`), 'I am '); verbFirst = false }
  else if (/^You\s/i.test(s)) s = s.replace(/^You\s/i, 'I ')
  else if (new RegExp(`^${subject},?\\s+(a|an|the)\\s`, 'i').test(s)) { s = s.replace(new RegExp(`^${subject},?\\s+`, 'i'), 'I am '); verbFirst = false }
  else if (new RegExp(`^${subject}\\s+\\w+`, 'i').test(s)) s = s.replace(new RegExp(`^${subject}\\s+(\\w+)`, 'i'), (_, verb: string) => `I ${firstPerson(verb)}`)
  else if (/^(A|An)\s/.test(s)) { s = `I am ${s[0].toLowerCase()}${s.slice(1)}`; verbFirst = false }
  else if (/^[A-Z][a-z]+s\b/.test(s) || firstWordIs(s, 'Verb')) s = s.replace(/^(\w+)/, (verb: string) => `I ${/s$/.test(verb) ? firstPerson(verb) : verb.toLowerCase()}`)
  else return undefined
  // More verbs of the same subject ("… and tells jokes").
  if (verbFirst) {
    s = s.replace(/\band (\w+s)\b/g, (whole, verb: string, offset: number) =>
      firstWordIs(s.slice(offset + 4), 'Verb') || /^(keeps|runs|fixes|tells|writes|rates|sells|knows|makes|loves|lives|works|has)$/.test(verb) ? `and ${firstPerson(verb)}` : whole)
  }
  // The companion's own pronouns, inside the sentence.
  return s
    .replace(/\b(she|he)\s+(\w+)/gi, (_, _p: string, verb: string) => `I ${firstPerson(verb)}`)
    .replace(/\b(herself|himself|yourself)\b/gi, 'myself')
    .replace(/\b(his|your)\b/gi, 'my')
    .replace(/\bher\b(?=\s+\w)/gi, (_her: string, offset: number, all: string) => firstWordIs(all.slice(offset + 4), 'Noun') || firstWordIs(all.slice(offset + 4), 'Adjective') ? 'my' : 'me')
    .replace(/\bher\b/gi, 'me')
    .replace(/\byou\b/gi, 'me')
}

const PLACE_WORDS = /\b(town|city|village|shop|stall|market|garden|rooftop|roof|library|cafe|café|kitchen|park|street|house|home|studio|mountains?|sea|seaside|beach|river|lake|forest|island|school|office|harbou?r|station|farm|bakery|workshop|temple|shrine|port|valley|country)\b/i
const TIME = /\b(by (day|night)|at (night|dawn|dusk|sunrise|sunset)|every (morning|evening|night|day|weekend|week|summer|winter|spring|autumn|\w+day)|on (weekends|the weekend|\w+days)|in the (morning|evening|afternoon|summer|winter)|last (winter|summer|spring|autumn|year))\b/i

function englishPlace (text: string): string | undefined {
  for (const match of text.matchAll(/\b(in|on|at|near) ((?:the|a|an|my) )?([\w'-]+(?: (?:in|of) (?:the |a )?[\w'-]+| [\w'-]+){0,2})/g)) {
    const phrase = match[0].split(/ (and|by|who|where|with)\b/)[0]
    if (PLACE_WORDS.test(phrase) || /\s[A-Z]\p{L}+/u.test(phrase.slice(match[1].length))) return phrase
  }
  return undefined
}

const J_PLACE = /([\p{Script=Han}\p{Script=Katakana}ー]+(?:の[\p{Script=Han}\p{Script=Katakana}ー]+)?)(?:で|に住|に)/u
const J_TIME = /(毎朝|毎晩|毎日|休みの日|週末|夜|朝|夕方)/

function japaneseFact (sentence: string, name: string): string {
  const subject = `(あなた|彼女|彼${name === '' ? '' : `|${escapeRegExp(name)}(さん)?`})`
  return sentence.replace(/[。！!]+$/, '')
    .replace(new RegExp(`^${subject}(は|が)`), '私は')
    .replace(/あなたの/g, '私の')
}

/** The personality, if it is a few words of traits. */
function traitsOf (personality: string): string {
  const first = personality.split(/[;；。\n]/)[0].trim()
  if (first === '' || first.length > 48 || /\b(you|your|i)\b/i.test(first) || isJapanese(first) || nlp(first).has('#Noun')) return ''
  return first.replace(/[.,!]+$/, '').toLowerCase()
}

/** What a card tells of its companion. */
export function storyOf (card: Pick<CompanionCard, 'name' | 'personality' | 'story'>): Story {
  const japanese = isJapanese(`${card.story}${card.personality}`)
  const facts: Fact[] = []
  for (const sentence of sentencesOf(card.story)) {
    const text = japanese ? japaneseFact(sentence, card.name) : englishFact(sentence, card.name)
    if (text === undefined || text === '') continue
    const fact: Fact = { text, topics: topicsOf(text, [card.name]) }
    const place = japanese ? J_PLACE.exec(text)?.[1] : englishPlace(text)
    const time = (japanese ? J_TIME : TIME).exec(text)?.[0]
    if (place !== undefined) fact.place = place
    if (time !== undefined) fact.time = time
    facts.push(fact)
  }
  return { japanese, facts, traits: traitsOf(card.personality) }
}
