/**
 * Reading a line the way the built-in mind needs to answer it: what kind of
 * line it is (a greeting, thanks, news, a feeling, a question and of which
 * kind), whom a question is put to, what it is about (its topic: a content
 * word or phrase, never a function word, an adverb, a name or an id), and
 * what the speaker said about themselves. English is tagged by compromise;
 * Japanese by its scripts and particles (a smaller repertoire).
 */
import nlp from 'compromise'

export type Act = 'greeting' | 'howareyou' | 'thanks' | 'farewell' | 'question' | 'feeling' | 'news' | 'statement'
/** `opinion`: what the one asked thinks of something; `advice`: what someone should do. */
export type QuestionKind = 'yesno' | 'what' | 'where' | 'when' | 'why' | 'how' | 'who' | 'advice' | 'opinion'
export type Feeling = 'happy' | 'sad' | 'angry'

export interface Reading {
  japanese: boolean
  act: Act
  /** For a question: its kind. */
  question?: QuestionKind
  /** The question asks the one it is put to about themselves ("do you…", "your…", "あなたは…"). */
  aboutYou: boolean
  /** The name a question is put to ("Noor, where do you…?"), when it names one. */
  askedName?: string
  /** What it is about; undefined when it names nothing (a bare "Hi!"). */
  topic?: string
  /** Everything it speaks of, the question's first (see `topicsOf`). */
  topics: string[]
  feeling?: Feeling
  /** What the speaker said about themselves, as they said it ("I live in Osaka"). */
  selfFacts: string[]
}

/** `text` as a regular expression that matches it literally. */
export const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Whether a line is in Japanese (it has kana). */
export const isJapanese = (text: string): boolean => /[\p{Script=Hiragana}\p{Script=Katakana}]/u.test(text)

const STOPWORDS = new Set(('the a an and or but so of to in on at for with about from that this these those is are was were be been ' +
  'it its i you we they he she me my your our their what who how why when where which do does did have has had ' +
  'not no yes just really very too also can could would should will shall may might must there here then than ' +
  'hello hi hey everyone everybody all some any more most much many well oh ah okay ok please thanks thank ' +
  'thing things something anything everything nothing one ones way lot kind sort bit day today yesterday tomorrow ' +
  'near into onto over under after before around through during without within every each own other another ' +
  'advice tips question questions idea ideas thoughts opinion story stories news going doing being having getting saying thinking ' +
  'morning evening night afternoon week weekend time year moment').split(' '))

/** Words that are never a topic: ids and numbers, and adverbs (`exactly`, `scientifically`), by their endings. */
const NOT_A_TOPIC = /^(\p{L}*_.*|\d+|\p{L}+(ally|ously|ively|fully|lessly|ately|ently|antly|ingly|edly|ctly|ibly|ably|ckly|tly|wly|rly|ily))$/u
/** Nouns with an adverb's ending. */
const LY_NOUNS = new Set(['family', 'lily', 'homily', 'ally', 'jelly', 'belly', 'italy'])

/** Japanese: kanji or katakana runs, the nouns of a line (kana between them is grammar). */
const JAPANESE_NOUNS = /[\p{Script=Han}\p{Script=Katakana}ー]{2,}/gu
const JAPANESE_FILLER = new Set(['最近', '今日', '昨日', '本当', '皆さん', 'みなさん', '何か', '大丈夫', '一番', '少し'])

/** Whether a word can be (part of) a topic. */
export function isTopicalWord (word: string, names: readonly string[] = []): boolean {
  const lower = word.toLowerCase()
  if (word.length <= 2 || STOPWORDS.has(lower)) return false
  if (names.some(n => n !== '' && (n.toLowerCase() === lower || word.includes(n)))) return false
  return !NOT_A_TOPIC.test(word) || LY_NOUNS.has(lower)
}

interface Term { text: string, tags: string[] }
/** Tags of words that are never part of a topic. */
const NOT_TOPICAL_TAGS = new Set(['Pronoun', 'Date', 'Determiner', 'Possessive', 'Value'])
const bare = (word: string): string => word.replace(/[^\p{L}\p{N}_'-]/gu, '').replace(/^['-]+|['-]+$/g, '')

/** A topic without its article ("the rooftop" → "rooftop"), to find it in a text. */
export const topicCore = (topic: string): string => topic.replace(/^the /, '')

/**
 * `topicsOf`'s answers for the texts read lately. One line is read several
 * times (heard, judged, answered; its question and the whole of it, often
 * the same text), by every companion of a process; tagging it is most of
 * what a built-in mind spends on a line.
 */
const readLately = new Map<string, readonly string[]>()
const READ_LATELY = 256

/**
 * The content phrases of a text, longest first: its noun phrases and
 * gerunds (compromise tags English) less fillers, names and ids; in
 * Japanese, its kanji and katakana runs.
 */
export function topicsOf (text: string, names: readonly string[] = []): string[] {
  const key = `${names.join('\u0000')}\u0001${text}`
  let topics = readLately.get(key)
  if (topics === undefined) {
    topics = readTopics(text, names)
    if (readLately.size >= READ_LATELY) readLately.delete(readLately.keys().next().value as string)
  } else {
    readLately.delete(key) // kept as read last
  }
  readLately.set(key, topics)
  return [...topics]
}

function readTopics (text: string, names: readonly string[]): string[] {
  const named = (w: string): boolean => names.some(n => n !== '' && (w === n || w.includes(n)))
  let topics: string[]
  /** Words for people by what they do (compromise's #Actor). */
  let actors = new Set<string>()
  if (isJapanese(text)) {
    topics = (text.match(JAPANESE_NOUNS) ?? []).filter(w => !JAPANESE_FILLER.has(w) && !named(w))
  } else {
    const doc = nlp(text)
    actors = new Set((doc.match('#Actor').out('array') as string[]).map(w => bare(w).toLowerCase()))
    // Names of places and things keep their capitals ("Berlin"); the rest is lower case.
    const proper = new Set((doc.match('#ProperNoun').out('array') as string[]).flatMap(p => p.split(/\s+/).map(bare)))
    const cased = (w: string): string => proper.has(w) ? w : w.toLowerCase()
    // A phrase's runs of topical words: "a rooftop in Cairo" gives "the rooftop" and "Cairo", never "rooftop cairo".
    // A thing one of many ("a rooftop") is "the rooftop"; plurals, stuff and names go bare ("bees", "honey", "Cairo").
    const phrases = [...doc.nouns().json(), ...doc.match('#Gerund').json()].map(p => (p as { terms: Term[] }).terms)
    topics = phrases.flatMap((terms) => {
      const runs: Array<{ terms: Term[], counted: boolean }> = [{ terms: [], counted: false }]
      for (const term of terms) {
        const run = runs[runs.length - 1]
        if (!term.tags.some(tag => NOT_TOPICAL_TAGS.has(tag)) && isTopicalWord(bare(term.text), names)) run.terms.push(term)
        else {
          if (run.terms.length > 0) runs.push({ terms: [], counted: false })
          if (term.tags.includes('Determiner') && /^(a|an|the)$/i.test(bare(term.text))) runs[runs.length - 1].counted = true
        }
      }
      return runs.filter(r => r.terms.length > 0).map(({ terms: run, counted }) => {
        const last = run[run.length - 1].tags
        const the = counted && last.includes('Singular') && !last.includes('Uncountable') && !last.includes('ProperNoun')
        return `${the ? 'the ' : ''}${run.map(t => cased(bare(t.text))).join(' ')}`
      })
    })
  }
  // Longest first; a person's role ("photographer") only after what they do or where.
  const isActor = (t: string): boolean => t.split(' ').some(w => actors.has(w.toLowerCase()))
  return [...new Set(topics)].sort((a, b) => Number(isActor(a)) - Number(isActor(b)) || b.length - a.length)
}

/** The most telling phrase of a line (see `topicsOf`); 'that' (or 'それ') when it has none. */
export function topicOf (text: string, names: readonly string[] = []): string {
  return topicsOf(text, names)[0] ?? (isJapanese(text) ? 'それ' : 'that')
}

/** A line's sentences, their end marks kept. */
export function sentencesOf (text: string): string[] {
  return (text.match(/[^.!?。！？]+[.!?。！？]*/gu) ?? []).map(s => s.trim()).filter(s => s !== '')
}

const isQuestionSentence = (s: string): boolean => /[?？]$/.test(s) || /か[。]?$/.test(s)

const ENGLISH_KINDS: Array<[RegExp, QuestionKind]> = [
  [/\b(should i|should we|any (advice|tips?)|what would you (do|recommend|suggest)|do you recommend|what do you (suggest|recommend)|how (do|can|should) (i|we)|tips? for)\b/i, 'advice'],
  [/\b(what do you think|how do you feel about|your (opinion|take)|what('s| is) your view|how (was|were|is|are|did) (the|your|it|that)\b)/i, 'opinion'],
  [/^(why|how come)\b|\bwhy\b/i, 'why'],
  [/\bwhere\b/i, 'where'],
  [/\b(when|what time)\b/i, 'when'],
  [/\bwho\b/i, 'who'],
  [/\bhow\b/i, 'how'],
  [/\b(what|which)\b/i, 'what'],
  [/^(do|does|did|are|is|was|were|can|could|will|would|have|has|had|may|might|should|shall)\b/i, 'yesno']
]

const JAPANESE_KINDS: Array<[RegExp, QuestionKind]> = [
  [/どうすれば|どうしたら|アドバイス|おすすめ|したらいい|コツ/, 'advice'],
  [/どう思|どう感じ/, 'opinion'],
  [/なぜ|どうして|なんで/, 'why'],
  [/どこ/, 'where'],
  [/いつ|何時/, 'when'],
  [/誰|だれ/, 'who'],
  [/どうやって|どのように/, 'how'],
  [/何|なに|どんな|どれ/, 'what']
]

/** A sentence that tells something about its speaker ("I live in…", "My dog…"), not an opinion ("I think…"). */
const SELF_FACT = /^(I (live|lived|work|worked|have|had|love|like|keep|grew|collect|run|own|study|play|sell|make|write|read|adopted|got|went|just|used to|moved|teach|cook|paint|build|grow|fix|repair)\b|I(?: am|'m| was) (a|an|from|in|at|learning|studying|working)\b|I've (got|been|lived|worked)\b|My\b)/i
const GREETING = /^(hi|hello|hey|hiya|howdy|good (morning|afternoon|evening)|greetings)\b/i
const HOW_ARE_YOU = /\b(how are you|how('s| is) it going|how have you been|how are things|how('s| is) your day)\b(?!\s+(with|feeling about|doing with|going to|finding|getting on))/i
const THANKS = /\b(thanks|thank you|cheers|much appreciated)\b/i
const FAREWELL = /\b(bye|goodbye|good night|see you|gotta go|talk later)\b/i
const FEELINGS: Array<[RegExp, Feeling]> = [
  [/\b(angry|furious|annoyed|hate|unfair|frustrat\w*)\b/i, 'angry'],
  [/\b(sad|tired|lonely|worried|nervous|stressed|exhausted|sick|down|upset|miss\w*|lost|sorry)\b/i, 'sad'],
  [/\b(happy|glad|excited|great|wonderful|thrilled|proud|love|delighted|fun)\b/i, 'happy']
]
const NEWS = /\b(i just|i('ve| have) just|guess what|i finally|today i|yesterday i|last night i|i (went|got|made|found|saw|adopted|bought|won|started|finished|met|visited))\b/i

const J_GREETING = /^(こんにちは|こんばんは|おはよう|はじめまして|やあ)/
const J_HOW_ARE_YOU = /元気ですか|お元気|調子はどう/
const J_THANKS = /ありがとう/
const J_FAREWELL = /さようなら|またね|おやすみ|じゃあね|また今度/
const J_FEELINGS: Array<[RegExp, Feeling]> = [[/怒|むかつ|腹が立/, 'angry'], [/悲し|寂し|疲れ|つらい|辛い|心配/, 'sad'], [/嬉し|うれし|楽し|最高|わくわく/, 'happy']]
const J_NEWS = /ました[！!。]?$/

/** The name a sentence is put to ("Noor, where…", "So, Noor, …", "ユイさん、…", "…, Noor?"), if it is one of `names`. */
function openingName (sentence: string, names: readonly string[]): string | undefined {
  const opening = sentence.split(/\s+/).slice(0, 4).join(' ')
  return names.find((n) => {
    if (n === '') return false
    const name = escapeRegExp(n)
    return new RegExp(`(^|[\\s,、])${name}(さん)?([,、!:…！]|$)`).test(opening) || new RegExp(`[,、]\\s*${name}(さん)?[?？]$`).test(sentence)
  })
}

/** Reads a line; `names` are the names of those present (never a topic). */
export function readLine (text: string, names: readonly string[] = []): Reading {
  const japanese = isJapanese(text)
  const sentences = sentencesOf(text)
  const question = [...sentences].reverse().find(isQuestionSentence)
  const focus = question ?? text
  const topics = [...new Set([...topicsOf(focus, names), ...topicsOf(text, names)])]
  const topic = topics[0]
  const reading: Reading = { japanese, act: 'statement', aboutYou: false, selfFacts: [], topics, ...(topic === undefined ? {} : { topic }) }
  const before = question === undefined ? undefined : sentences[sentences.indexOf(question) - 1]
  const asked = question === undefined
    ? undefined
    : openingName(question, names) ?? (before !== undefined && before.split(/\s+/).length <= 3 ? openingName(before, names) : undefined)
  if (asked !== undefined) reading.askedName = asked
  const bare = (s: string): string => names.reduce((t, n) => n === '' ? t : t.replace(new RegExp(`^${escapeRegExp(n)}(さん)?[,、]?\\s*`), ''), s)

  if (japanese) {
    reading.selfFacts = sentences.filter(s => /^(私|僕|わたし|ぼく)(は|の|も)/.test(s) && !isQuestionSentence(s))
    reading.feeling = J_FEELINGS.find(([re]) => re.test(text))?.[1]
    if (J_HOW_ARE_YOU.test(text)) reading.act = 'howareyou'
    else if (question !== undefined) {
      reading.act = 'question'
      reading.question = JAPANESE_KINDS.find(([re]) => re.test(question))?.[1] ?? 'yesno'
      reading.aboutYou = /あなた|さんは|さんの|君は|好きですか|していますか|ますか/.test(question)
    } else if (J_THANKS.test(text)) reading.act = 'thanks'
    else if (J_FAREWELL.test(text)) reading.act = 'farewell'
    else if (J_GREETING.test(bare(text))) reading.act = 'greeting'
    else if (reading.feeling !== undefined && reading.selfFacts.length > 0) reading.act = 'feeling'
    else if (J_NEWS.test(text)) reading.act = 'news'
  } else {
    reading.selfFacts = sentences.map(bare).filter(s => SELF_FACT.test(s) && !isQuestionSentence(s)).map(s => s.replace(/[.!]+$/, ''))
    const aboutSelf = sentences.map(bare).filter(s => /^(i|i'm|i've|my)\b/i.test(s) && !isQuestionSentence(s)).join(' ')
    reading.feeling = FEELINGS.find(([re]) => re.test(aboutSelf))?.[1]
    if (HOW_ARE_YOU.test(text)) reading.act = 'howareyou'
    else if (question !== undefined) {
      const q = bare(question)
      reading.act = 'question'
      reading.question = ENGLISH_KINDS.find(([re]) => re.test(q))?.[1] ?? 'yesno'
      reading.aboutYou = /\b(you|your|yours|yourself)\b/i.test(q)
    } else if (THANKS.test(text)) reading.act = 'thanks'
    else if (FAREWELL.test(text)) reading.act = 'farewell'
    else if (GREETING.test(bare(text))) reading.act = 'greeting'
    else if (NEWS.test(aboutSelf)) reading.act = 'news'
    else if (reading.feeling !== undefined && /\b(i('m| am)|i feel)\b/i.test(aboutSelf)) reading.act = 'feeling'
  }
  if (reading.feeling === undefined) delete reading.feeling
  return reading
}
