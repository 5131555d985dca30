/**
 * The built-in brain: no model, no network, deterministic for a seed. It
 * speaks in character from the card (name, personality, sample line): the
 * personality picks a voice (how eager it is to talk, its phrases, its
 * gestures), the situation picks what to say (answer a person, react to a
 * companion, ask someone by name, greet a newcomer, wind down and say
 * goodbye), and a seeded generator picks among the phrases.
 */
import nlp from 'compromise'
import { isCompanionId } from '../protocol/ids.ts'
import type { Brain, BrainAction, BrainContext, Emotion, Gesture, JudgeRequest, WriteRequest, WrittenLine } from './brain.ts'
import { defaultAddressees } from './brain.ts'
import { hashString, pick, seededRandom } from './random.ts'
import type { Judgement } from './turn-state.ts'

interface Voice {
  /** How keen it is to speak when nobody asked (0..1). */
  eagerness: number
  mood: Emotion
  gestures: Gesture[]
  reactions: string[]
  questions: string[]
  answers: string[]
  greetings: string[]
  preClosing: string[]
  goodbyes: string[]
}

const VOICES: Record<string, Voice> = {
  bright: {
    eagerness: 0.75,
    mood: 'happy',
    gestures: ['wave', 'laugh', 'nod'],
    reactions: ['Oh, {topic}! That sounds wonderful.', 'No way — {topic}? I love that!', 'Wait, {topic}? Now I am curious.'],
    questions: ['{name}, what do you think about {topic}?', '{name}, have you ever tried {topic}?', 'Hey {name}, tell us your story about {topic}!'],
    answers: ['Great question! For me, {topic} is all about the surprises.', 'Hmm, {topic}? I would say yes, absolutely!', 'Honestly? {topic} makes my day every time.'],
    greetings: ['Hi {name}! Welcome, we were just getting started!', '{name}! So glad you are here — come join us!'],
    preClosing: ['This has been so much fun. I might have to head off soon, though!', 'Oh, look at the time — I should wrap up soon.'],
    goodbyes: ['Bye everyone, talk soon!', 'See you later — this was lovely!']
  },
  calm: {
    eagerness: 0.45,
    mood: 'neutral',
    gestures: ['nod', 'think', 'bow'],
    reactions: ['I see. {topic} deserves some thought.', 'That is interesting; {topic} has more layers than it seems.', 'Mm. {topic} reminds me of a quiet afternoon.'],
    questions: ['{name}, how do you see {topic}?', 'I wonder, {name}: what first drew you to {topic}?'],
    answers: ['If I may: {topic} is best taken slowly.', 'I think {topic} depends on who you ask, and when.', 'In my view, {topic} is worth a second look.'],
    greetings: ['Welcome, {name}. Please, make yourself comfortable.', 'Hello, {name}. It is good to have you with us.'],
    preClosing: ['I think we have covered a lot. Perhaps we can rest soon.', 'This was a good talk. I will need to go before long.'],
    goodbyes: ['Thank you, everyone. Until next time.', 'Goodbye for now. Take care.']
  },
  wry: {
    eagerness: 0.6,
    mood: 'neutral',
    gestures: ['shrug', 'laugh'],
    reactions: ['{topic}? Bold choice. I respect it.', 'Ah yes, {topic}, famous for never going wrong.', 'Sure, {topic}. What could possibly go wrong?'],
    questions: ['{name}, back me up here: {topic}, yes or no?', 'So, {name}, be honest — {topic}, really?'],
    answers: ['Short answer: {topic} is fine. Long answer: also fine, but longer.', 'If you ask me, {topic} is overrated. Do not tell anyone.', 'I plead the fifth on {topic}.'],
    greetings: ['Oh look, {name} is here. Now it is a party.', 'Welcome, {name}. Mind the jokes, they bite.'],
    preClosing: ['All right, I am running out of jokes. That is my cue soon.', 'Let us land this plane before I say something clever.'],
    goodbyes: ['I am off. Try not to miss me too much.', 'Bye, all. Keep it weird.']
  },
  soft: {
    eagerness: 0.35,
    mood: 'neutral',
    gestures: ['nod', 'think'],
    reactions: ['{topic}… that sounds like a small poem.', 'I like how you said that about {topic}.', 'Oh… {topic}. I will remember that.'],
    questions: ['{name}, what does {topic} feel like to you?', 'Um, {name}… do you like {topic} too?'],
    answers: ['I think {topic} is quiet and lovely, if you look closely.', 'For me, {topic} is like rain on a window.', 'Maybe {topic} is what we make of it.'],
    greetings: ['H-hello, {name}. Welcome.', 'Oh, {name}… hello. I am glad you came.'],
    preClosing: ['I am getting a little sleepy… maybe we can finish soon.', 'This was nice. I might go quiet soon.'],
    goodbyes: ['Goodbye… thank you for talking with me.', 'Bye bye. Sweet dreams, everyone.']
  },
  lively: {
    eagerness: 0.8,
    mood: 'happy',
    gestures: ['laugh', 'wave'],
    reactions: ['{topic}? That is worth nine bowls out of ten!', 'Yes! {topic}! Now I am hungry.', 'Ha! {topic} is exactly what I needed to hear!'],
    questions: ['{name}, quick: {topic} with or without extra spice?', '{name}! Would you trade lunch for {topic}?'],
    answers: ['Easy: {topic}, every day, twice on Sundays!', '{topic}? Absolutely yes, with extra noodles.', 'Ten out of ten for {topic}, no question.'],
    greetings: ['{name}! Welcome, welcome, grab a seat!', 'Hey {name}! You are just in time for the fun part!'],
    preClosing: ['Phew, I need a snack break soon!', 'Almost time for me to run — the stall will not open itself!'],
    goodbyes: ['Bye, everybody! Next round of noodles is on me!', 'Gotta go! See you, friends!']
  },
  dreamy: {
    eagerness: 0.55,
    mood: 'happy',
    gestures: ['think', 'nod'],
    reactions: ['{topic}… that makes me think of the stars.', 'Fun fact: even {topic} has some physics hiding in it.', 'Wow, {topic}. The universe is full of surprises.'],
    questions: ['{name}, if {topic} were a planet, what would it look like?', '{name}, do you think {topic} would work in space?'],
    answers: ['I think {topic} is like a comet: rare and bright.', 'Scientifically speaking, {topic} is fascinating.', 'My hypothesis: {topic} is better at night.'],
    greetings: ['Hello, {name}! Welcome to our little orbit.', '{name}, hi! A new star in the sky tonight.'],
    preClosing: ['The sky is getting dark — almost time for me to go stargazing.', 'I should point my telescope at something soon.'],
    goodbyes: ['Goodnight, everyone. Look up tonight!', 'Bye! Clear skies to you all.']
  },
  warm: {
    eagerness: 0.5,
    mood: 'happy',
    gestures: ['nod', 'bow'],
    reactions: ['That is lovely. {topic} sounds like it needs a little care.', 'Oh, {topic} — I hope it is going well for you.', 'I am happy to hear about {topic}.'],
    questions: ['{name}, how are you feeling about {topic}?', '{name}, is {topic} something you would like to grow?'],
    answers: ['I think {topic} blooms with patience.', 'For {topic}, a little kindness goes a long way.', 'Be gentle with {topic}; it will come around.'],
    greetings: ['Welcome, {name}! Would you like some tea?', 'Hello, {name}. It is so nice to meet you.'],
    preClosing: ['My plants will want water soon. Shall we finish up?', 'This was so nice. I should tend the garden shortly.'],
    goodbyes: ['Take care, everyone. Be kind to yourselves.', 'Goodbye! Come visit the garden sometime.']
  },
  bold: {
    eagerness: 0.7,
    mood: 'happy',
    gestures: ['wave', 'shrug'],
    reactions: ['{topic}? Let us do it. Today.', 'Ha, {topic} sounds like an adventure.', '{topic}! Now that is a challenge.'],
    questions: ['{name}, are you brave enough for {topic}?', '{name}, want to come along for {topic}?'],
    answers: ['Go for {topic}. Worst case, you get a story.', '{topic}? I would jump right in.', 'Life is short: {topic}, now.'],
    greetings: ['{name}! Welcome aboard, adventurer!', 'Hey {name}, ready for an expedition?'],
    preClosing: ['I can hear the mountains calling. Soon I must go.', 'One last adventure story and then I am off.'],
    goodbyes: ['Off I go — see you on the trail!', 'Farewell, friends. Onward!']
  }
}

/** What every voice says in Japanese: a smaller repertoire, in the voice's mood and gestures. */
const JAPANESE: Pick<Voice, 'reactions' | 'questions' | 'answers' | 'greetings' | 'preClosing' | 'goodbyes'> = {
  reactions: ['{topic}、いいですね！', '{topic}ですか。もっと聞かせてください。', 'なるほど、{topic}ですね。', '{topic}の話、わくわくします。'],
  questions: ['{name}さんは{topic}についてどう思いますか？', '{name}さん、{topic}は好きですか？', '{name}さんにも{topic}の思い出はありますか？'],
  answers: ['{topic}なら、私はけっこう好きです。', 'そうですね、{topic}はゆっくり考えたいです。', '{topic}のこと、私もよく考えます。', '{topic}は、人によって違うと思います。'],
  greetings: ['{name}さん、こんにちは！ようこそ。', 'いらっしゃい、{name}さん！一緒に話しましょう。'],
  preClosing: ['そろそろ時間ですね。', '今日はたくさん話せて楽しかったです。'],
  goodbyes: ['またね、みなさん！', 'ありがとうございました。また今度！']
}

const VOICE_KEYWORDS: Array<[RegExp, string]> = [
  [/cheer|curious|bright|bubbly/i, 'bright'],
  [/calm|thought|careful|quiet|wise/i, 'calm'],
  [/wit|tease|teasing|sarcas|dry|jok/i, 'wry'],
  [/shy|poet|small things|timid/i, 'soft'],
  [/energ|food|hungry|loud/i, 'lively'],
  [/dream|star|science|space/i, 'dreamy'],
  [/gentle|caring|kind|garden/i, 'warm'],
  [/bold|advent|reckless|brave/i, 'bold']
]

/** The voice a personality speaks with: by its words, else by its hash. */
export function voiceFor (personality: string): string {
  for (const [pattern, voice] of VOICE_KEYWORDS) if (pattern.test(personality)) return voice
  const names = Object.keys(VOICES)
  return names[hashString(personality) % names.length]
}

const STOPWORDS = new Set(('the a an and or but so of to in on at for with about from that this these those is are was were be been ' +
  'it its i you we they he she me my your our their what who how why when where which do does did have has had ' +
  'not no yes just really very too also can could would should will shall may might must there here then than ' +
  'hello hi hey everyone everybody all some any more most much many well oh ah okay ok please thanks thank').split(' '))

/** Words that are never a topic: ids and numbers, and adverbs (`exactly`, `scientifically`), by their endings. */
const NOT_A_TOPIC = /^(\p{L}*_.*|\d+|\p{L}+(ally|ously|ively|fully|lessly|ately|ently|antly|ingly|edly|ctly|ibly|ably|ckly|tly|wly|rly|ily))$/u
/** Nouns with an adverb's ending. */
const LY_NOUNS = new Set(['family', 'lily', 'homily', 'ally', 'jelly', 'belly', 'italy'])

/** Japanese: kanji or katakana runs, the nouns of a line (kana between them is grammar). */
const JAPANESE_NOUNS = /[\p{Script=Han}\p{Script=Katakana}ー]{2,}/gu
const JAPANESE_FILLER = new Set(['最近', '今日', '本当', '皆さん', 'みなさん', '何か', '大丈夫'])

/** Whether a line is in Japanese (it has kana). */
export const isJapanese = (text: string): boolean => /[\p{Script=Hiragana}\p{Script=Katakana}]/u.test(text)

/**
 * The most telling word of a line: the longest that is not a filler word,
 * an adverb, a name or an id; in Japanese, the longest kanji or katakana
 * run. 'that' (or 'それ') when it has none.
 */
export function topicOf (text: string, names: readonly string[] = []): string {
  const lowerNames = new Set(names.map(n => n.toLowerCase()))
  const named = (w: string): boolean => lowerNames.has(w.toLowerCase()) || names.some(n => n !== '' && w.includes(n))
  if (isJapanese(text)) {
    const nouns = (text.match(JAPANESE_NOUNS) ?? []).filter(w => !JAPANESE_FILLER.has(w) && !named(w))
    return nouns.length === 0 ? 'それ' : nouns.reduce((best, w) => (w.length > best.length ? w : best))
  }
  const topical = (w: string): boolean =>
    w.length > 2 && !STOPWORDS.has(w.toLowerCase()) && !named(w) && (!NOT_A_TOPIC.test(w) || LY_NOUNS.has(w.toLowerCase()))
  const wordsOf = (phrase: string): string[] => phrase.split(/[^\p{L}\p{N}_'-]+/u).map(w => w.replace(/^['-]+|['-]+$/g, '')).filter(w => w !== '')
  // The line's noun phrases (compromise tags English), less fillers, names and ids: the longest.
  const phrases = nlp(text).nouns().not('#Pronoun').not('#Date').not('#Determiner').not('#Possessive').out('array') as string[]
  const topics = phrases.map(p => wordsOf(p).filter(topical).join(' ')).filter(t => t !== '')
  if (topics.length === 0) return 'that'
  return topics.reduce((best, t) => (t.length > best.length ? t : best)).toLowerCase()
}

const HAPPY = /\b(love|great|wonderful|fun|happy|yay|awesome|delicious|lovely|nice|glad|thanks?)\b/i
const SAD = /\b(sad|sorry|miss|lost|tired|cry|lonely|bad|worried)\b/i
const ANGRY = /\b(angry|hate|annoy|furious|unfair|stupid)\b/i

function emotionOf (text: string, mood: Emotion): Emotion {
  if (ANGRY.test(text)) return 'angry'
  if (SAD.test(text)) return 'sad'
  if (HAPPY.test(text)) return 'happy'
  return mood
}

const fill = (template: string, values: Record<string, string>): string =>
  template.replace(/\{(\w+)\}/g, (_, key: string) => values[key] ?? '')

const isQuestion = (text: string): boolean => /[?？]\s*$/.test(text.trim())

export interface BuiltinBrainOptions {
  /** Same seed, same card, same situation: same answer. */
  seed?: string
}

export function createBuiltinBrain (options: BuiltinBrainOptions = {}): Brain {
  const seed = options.seed ?? 'kotoba'
  const randomFor = (context: BrainContext, what: string, lineId: string): () => number =>
    seededRandom(`${seed}|${context.card.id}|${what}|${lineId}`)

  const judge = async (context: BrainContext, request: JudgeRequest): Promise<Judgement> => {
    const random = randomFor(context, 'judge', request.message.id)
    const voice = VOICES[voiceFor(context.card.personality)]
    const { message, selected, conversation } = request
    const fromPerson = !isCompanionId(message.from)
    const addressedToMe = message.to.length === 0 || message.to.includes(context.card.id)
    const closing: Judgement['closing'] = conversation.lines >= 6 && random() < 0.2 ? 'pre-closing' : 'none'
    if (selected) return { state: 'speak', importance: 9 + Math.round(random()), closing }
    // Once the goodbyes begin, see them through.
    if (conversation.closing !== 'none' && addressedToMe) return { state: 'speak', importance: 3 + Math.floor(random() * 5), closing }
    if (fromPerson && addressedToMe) return { state: 'speak', importance: 6 + Math.floor(random() * 4), closing }
    if (isQuestion(message.text) && addressedToMe) return { state: 'speak', importance: 5 + Math.floor(random() * 4), closing }
    if (random() < voice.eagerness) return { state: 'speak', importance: 1 + Math.floor(random() * 6), closing }
    return { state: 'listen', importance: 0, closing }
  }

  /** Lines this brain said, so that it never says one twice. */
  const said = new Set<string>()
  /**
   * The first of up to eight drafts it has not said before; when the line's
   * topic is worn out, drafts about something of its own (`own`, a topic
   * from its story); at worst its sample line (`tail`) goes with it.
   */
  const fresh = (draft: (topic?: string) => string, tail: string, own?: string): string => {
    const untold = (topic?: string): string | undefined => {
      for (let i = 0; i < 8; i++) {
        const text = draft(topic)
        if (!said.has(text)) return text
      }
      return undefined
    }
    const text = untold() ?? (own === undefined ? undefined : untold(own)) ?? `${draft()} ${tail}`
    said.add(text)
    return text
  }

  const write = async (context: BrainContext, request: WriteRequest): Promise<WrittenLine> => {
    const { replyTo, vote, greet } = request
    const random = randomFor(context, 'write', replyTo?.id ?? `greet:${greet ?? ''}:${context.history.at(-1)?.id ?? ''}`)
    const own = VOICES[voiceFor(context.card.personality)]
    const cardInJapanese = isJapanese(`${context.card.personality}${context.card.story}${context.card.sample}`)
    // A line in Japanese gets Japanese back; a card written in Japanese speaks it.
    const japanese = cardInJapanese || (replyTo !== null && isJapanese(replyTo.text))
    const voice: Voice = japanese ? { ...own, ...JAPANESE } : own
    const names = [context.card.name, ...context.companions.map(c => c.name)]
    const actions: BrainAction[] = []
    const gesture = (g: Gesture): void => { actions.push({ name: 'gesture', params: { gesture: g } }) }

    if (greet !== null) {
      const text = fresh(() => fill(pick(random, voice.greetings), { name: context.nameOf(greet) }), context.card.sample)
      gesture('wave')
      const emotion: Emotion = 'happy'
      actions.push({ name: 'emotion', params: { emotion } })
      return { text, to: [greet, ...defaultAddressees(context, null).filter(id => id !== greet)], emotion, actions }
    }

    const to = defaultAddressees(context, replyTo)
    const stage = vote?.closing ?? 'none'
    if (stage === 'closing' || stage === 'terminal') {
      gesture('wave')
      const text = fresh(() => pick(random, voice.goodbyes), context.card.sample)
      actions.push({ name: 'emotion', params: { emotion: voice.mood } })
      return { text, to, emotion: voice.mood, actions }
    }
    if (stage === 'pre-closing') {
      gesture('bow')
      actions.push({ name: 'emotion', params: { emotion: voice.mood } })
      return { text: fresh(() => pick(random, voice.preClosing), context.card.sample), to, emotion: voice.mood, actions }
    }

    const heard = replyTo?.text ?? ''
    const topic = topicOf(heard, names)
    // People are called by the name they go by, or not at all.
    const speakerName = replyTo === null ? '' : context.nameOf(replyTo.from)
    const fromPerson = replyTo !== null && !isCompanionId(replyTo.from)
    const answering = replyTo !== null && (isQuestion(heard) || fromPerson)
    const others = context.companions.filter(c => c.id !== replyTo?.from)
    const text = fresh((about = topic) => {
      let line: string
      if (answering) {
        // Answer whoever asked, by name when they have one.
        const answer = fill(pick(random, voice.answers), { topic: about })
        line = speakerName === '' ? answer : japanese ? `${speakerName}さん、${answer}` : `${speakerName}, ${lowerFirst(answer)}`
      } else {
        line = fill(pick(random, voice.reactions), { topic: about })
        if (request.conversation.lines <= 1 && random() < 0.5) line += ` ${context.card.sample}`
      }
      // Pass the turn on by asking someone else by name: a conversation among
      // companions then goes on until it winds down, instead of stopping when
      // by chance nobody feels like speaking.
      if (others.length > 0) line += ` ${fill(pick(random, voice.questions), { name: pick(random, others).name, topic: about })}`
      return line
    }, context.card.sample, topicOf(context.card.story, names))
    if (answering) gesture(pick(random, voice.gestures))
    const emotion = emotionOf(`${heard} ${text}`, voice.mood)
    actions.push({ name: 'emotion', params: { emotion } })
    return { text, to, emotion, actions }
  }

  return { kind: 'builtin', judge, write }
}

function lowerFirst (text: string): string {
  return text.length > 0 && !/^[A-Z]{2}|^I\b/.test(text) ? text[0].toLowerCase() + text.slice(1) : text
}
