/**
 * The built-in brain: no model, no network, deterministic for a seed. Its
 * mind is in companion/mind/: it reads a line (what kind of line, what it is
 * about, whom a question is put to), answers it from the card (its story
 * told in the first person, in the voice its personality picks), remembers
 * the conversation (never the same line twice, what others told of
 * themselves), and passes the turn on by asking someone. A line in Japanese
 * gets Japanese back; a card written in Japanese speaks it.
 */
import { isCompanionId } from '../protocol/ids.ts'
import type { Brain, BrainAction, BrainContext, Emotion, Gesture, JudgeRequest, WriteRequest, WrittenLine } from './brain.ts'
import { defaultAddressees } from './brain.ts'
import { compose, fill, lastResort, windDown } from './mind/compose.ts'
import type { Draft, Situation } from './mind/compose.ts'
import { Memory } from './mind/memory.ts'
import type { Shape } from './mind/memory.ts'
import { isJapanese, readLine, topicCore } from './mind/reading.ts'
import { storyOf } from './mind/story.ts'
import type { Story } from './mind/story.ts'
import { JAPANESE, VOICES, voiceFor } from './mind/voices.ts'
import type { Voice } from './mind/voices.ts'
import { pick, seededRandom } from './random.ts'
import type { Judgement } from './turn-state.ts'

export { isJapanese, readLine, topicOf } from './mind/reading.ts'
export { voiceFor } from './mind/voices.ts'

const HAPPY = /\b(love|great|wonderful|fun|happy|yay|awesome|delicious|lovely|nice|glad|thanks?)\b|嬉し|楽し|よかった/i
const SAD = /\b(sad|sorry|miss|lost|tired|cry|lonely|bad|worried)\b|悲し|寂し|大変/i
const ANGRY = /\b(angry|hate|annoy|furious|unfair|stupid)\b/i

function emotionOf (text: string, mood: Emotion): Emotion {
  if (ANGRY.test(text)) return 'angry'
  if (SAD.test(text)) return 'sad'
  if (HAPPY.test(text)) return 'happy'
  return mood
}

const isQuestion = (text: string): boolean => /[?？]\s*$/.test(text.trim())

/** What the brain thought when it wrote a line (for tests and tools: the line's shape and topic). */
export interface Thought extends Draft {
  companion: string
  /** The line it answered (none for a greeting). */
  replyTo?: string
  japanese: boolean
}

export interface BuiltinBrainOptions {
  /** Same seed, same card, same situation: same answer. */
  seed?: string
  /** Told of every line it writes, with its shape and topic. */
  observe?: (thought: Thought) => void
}

/** Gestures that go with a shape of line. */
const SHAPE_GESTURES: Partial<Record<Shape, Gesture>> = { hello: 'wave', welcome: 'bow', farewell: 'wave', comfort: 'nod', cheer: 'laugh', 'pre-closing': 'bow', closing: 'wave', greet: 'wave' }

export function createBuiltinBrain (options: BuiltinBrainOptions = {}): Brain {
  const seed = options.seed ?? 'kotoba'
  const randomFor = (context: BrainContext, what: string, lineId: string): () => number =>
    seededRandom(`${seed}|${context.card.id}|${what}|${lineId}`)
  /** One memory per companion this brain thinks for. */
  const memories = new Map<string, Memory>()
  const stories = new Map<string, Story>()
  const memoryOf = (id: string): Memory => memories.get(id) ?? memories.set(id, new Memory()).get(id)!
  const storyFor = (context: BrainContext): Story => {
    const key = JSON.stringify([context.card.name, context.card.personality, context.card.story])
    return stories.get(key) ?? stories.set(key, storyOf(context.card)).get(key)!
  }
  /** Names of those in the conversation: never a topic. */
  const namesIn = (context: BrainContext): string[] =>
    [...new Set([context.card.name, ...context.companions.map(c => c.name), ...context.history.map(l => context.nameOf(l.from))])].filter(n => n !== '')

  const judge = async (context: BrainContext, request: JudgeRequest): Promise<Judgement> => {
    const random = randomFor(context, 'judge', request.message.id)
    memoryOf(context.card.id).hear(request.message, context.card.id, namesIn(context))
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

  /** The first of a few drafts it has not said before. */
  const unsaid = (memory: Memory, draft: () => Draft, fallback: () => Draft, sample: string): Draft => {
    for (let i = 0; i < 8; i++) {
      const d = draft()
      if (!memory.hasSaid(d.text)) return d
    }
    for (let i = 0; i < 4; i++) {
      const d = fallback()
      if (!memory.hasSaid(d.text)) return d
    }
    const d = fallback()
    return { ...d, text: `${d.text} ${sample}` }
  }

  const write = async (context: BrainContext, request: WriteRequest): Promise<WrittenLine> => {
    const { replyTo, vote, greet } = request
    const self = context.card
    const random = randomFor(context, 'write', replyTo?.id ?? `greet:${greet ?? ''}:${context.history.at(-1)?.id ?? ''}`)
    const memory = memoryOf(self.id)
    const story = storyFor(context)
    const names = namesIn(context)
    for (const line of context.history) memory.hear(line, self.id, names)
    const own = VOICES[voiceFor(self.personality)]
    const line = replyTo ?? { id: 'none', from: self.id, to: [], text: '' }
    const reading = readLine(line.text, names)
    // A question is put to the one it names; unnamed, to all when a person asks, else to whom the line is for alone.
    const asked = reading.askedName === self.name ||
      (reading.askedName === undefined && (!isCompanionId(line.from) || (line.to.length === 1 && line.to[0] === self.id)))
    // A card written in Japanese speaks it; a person's line in Japanese, or a Japanese question put to it, gets Japanese back.
    const japanese = story.japanese || isJapanese(self.sample) ||
      (reading.japanese && (!isCompanionId(line.from) || reading.askedName === self.name || (line.to.length === 1 && line.to[0] === self.id)))
    // The topic the conversation is on, if the line speaks of it too (not a word of the line's phrasing).
    const thread = reading.topics.find(t => context.history.slice(-4).some(l => l.id !== line.id && l.text.toLowerCase().includes(topicCore(t).toLowerCase())))
    if (thread !== undefined) reading.topic = thread
    // A topic in the other language is not one it can talk about: it moves on to its own.
    if (reading.japanese !== japanese) delete reading.topic
    const voice: Voice = japanese ? { ...own, ...JAPANESE } : own
    const fixed = (shape: Shape, phrases: string[], name = ''): () => Draft => () => ({ text: fill(pick(random, phrases), { name }), shape })

    let to = defaultAddressees(context, replyTo)
    let draft: Draft
    const stage = vote?.closing ?? 'none'
    if (greet !== null) {
      draft = unsaid(memory, fixed('greet', voice.greetings, context.nameOf(greet)), fixed('greet', voice.hellos, context.nameOf(greet)), self.sample)
      to = [greet, ...defaultAddressees(context, null).filter(id => id !== greet)]
    } else if (stage !== 'none') {
      const others = names.filter(n => n !== self.name)
      const { own: phrase, more } = windDown(stage === 'pre-closing' ? 'pre-closing' : 'closing', voice, story, japanese, others, random)
      draft = unsaid(memory, phrase, more, self.sample)
    } else {
      const situation: Situation = {
        voice,
        story,
        memory,
        japanese,
        replyTo: line,
        reading,
        // People are called by the name they go by, or not at all.
        speakerName: replyTo === null ? '' : context.nameOf(replyTo.from),
        fromPerson: replyTo !== null && !isCompanionId(replyTo.from),
        asked,
        others: context.companions.filter(c => c.id !== self.id && c.id !== replyTo?.from).map(c => ({ id: c.id, name: c.name })),
        people: [...new Set(context.history.map(l => l.from).filter(id => !isCompanionId(id)))].map(id => ({ id, name: context.nameOf(id) })),
        history: context.history,
        sample: self.sample,
        firstLines: request.conversation.lines <= 1
      }
      draft = unsaid(memory, () => compose(situation, random), () => lastResort(situation, random), self.sample)
    }
    memory.say(draft.text, draft.shape, story)
    options.observe?.({ ...draft, companion: self.id, ...(replyTo === null ? {} : { replyTo: replyTo.id }), japanese })
    const actions: BrainAction[] = []
    const gesture = SHAPE_GESTURES[draft.shape] ?? (draft.shape === 'answer' ? pick(random, voice.gestures) : undefined)
    if (gesture !== undefined) actions.push({ name: 'gesture', params: { gesture } })
    const emotion: Emotion = draft.shape === 'greet' || draft.shape === 'hello' ? 'happy' : emotionOf(`${replyTo?.text ?? ''} ${draft.text}`, voice.mood)
    actions.push({ name: 'emotion', params: { emotion } })
    return { text: draft.text, to, emotion, actions }
  }

  return { kind: 'builtin', judge, write }
}
