/**
 * The LLM brain: the card becomes the character a chat model plays. It asks
 * the model for a judgement ({state, importance, closing}) and for a line
 * ({text, to, emotion, gesture}) with structured output. Each answer is
 * written once, as a valibot schema: the JSON Schema the server constrains
 * the model with is generated from it, and the answer is checked with it.
 * Where a model may stray and the answer can still be used, the schema
 * repairs (`v.fallback`): addressees outside the conversation are dropped,
 * an unknown emotion or gesture falls back to neutral or none, a missing
 * closing stage is none; the text is trimmed to a line.
 * The same brain thinks with a model server (chat-completions.ts) or with a
 * model that runs here (local-model.ts); either way failures come out as
 * `BrainError`s and the companion then listens instead of hanging.
 */
import * as v from 'valibot'
import { CLOSING_STAGES } from '../protocol/payloads.ts'
import type { Brain, BrainAction, BrainContext, JudgeRequest, WriteRequest, WrittenLine } from './brain.ts'
import { EMOTIONS, GESTURES, defaultAddressees } from './brain.ts'
import { hashString } from './random.ts'
import { completeStructured } from './chat-completions.ts'
import type { ChatEndpoint, ChatMessage, StructuredCompleter } from './chat-completions.ts'
import { LOCAL_TOKEN_BUDGET, completeLocally } from './local-model.ts'
import type { LocalModel } from './local-model.ts'
import type { Judgement } from './turn-state.ts'

/** Lines of history the model sees. */
const HISTORY_LINES = 12
/** A spoken line, not an essay. */
const MAX_LINE_CHARS = 600

const JudgementSchema = v.object({
  state: v.picklist(['speak', 'listen']),
  importance: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(10)),
  closing: v.fallback(v.picklist(CLOSING_STAGES), 'none')
})

const GESTURE_CHOICES = [...GESTURES, 'none'] as const

/**
 * A line, addressed to some of `addressees` (anyone, when there are none to
 * choose from). `maxChars` bounds the text in the schema itself, for models
 * whose grammar enforces it (a line too long is otherwise clipped).
 */
const lineSchema = (addressees: string[], maxChars?: number) => v.object({
  text: maxChars === undefined
    ? v.pipe(v.string(), v.regex(/\S/, 'the line is empty'))
    : v.pipe(v.string(), v.regex(/\S/, 'the line is empty'), v.maxLength(maxChars)),
  // An id outside the conversation becomes '' and is dropped below.
  to: v.fallback(v.array(addressees.length > 0 ? v.fallback(v.picklist(addressees), '') : v.string()), []),
  emotion: v.fallback(v.picklist(EMOTIONS), 'neutral'),
  gesture: v.fallback(v.picklist(GESTURE_CHOICES), 'none')
})

function character (context: BrainContext): string {
  const { card } = context
  const others = context.companions.map(c => `- ${c.name} (id ${c.id}): ${c.personality}`).join('\n')
  return [
    `You are ${card.name} (id ${card.id}), a companion in a group chat with other AI companions and people.`,
    `Personality: ${card.personality}`,
    `Story: ${card.story}`,
    `How you talk, for example: "${card.sample}"`,
    others === '' ? 'No other companion is here right now.' : `Other companions here:\n${others}`,
    'Stay in character. Speak in the language the conversation is in.'
  ].join('\n')
}

/** What the model calls someone: their name, or a person who has given none. */
const called = (context: BrainContext, id: string): string => context.nameOf(id) || 'a person'

function transcript (context: BrainContext): string {
  const lines = context.history.slice(-HISTORY_LINES)
  if (lines.length === 0) return '(nothing has been said yet)'
  return lines.map(l => {
    const to = l.to.length === 0 ? 'everyone' : l.to.map(id => called(context, id)).join(', ')
    return `[${l.id}] ${called(context, l.from)} (id ${l.from}) to ${to}: ${l.text}`
  }).join('\n')
}

export function judgeMessages (context: BrainContext, request: JudgeRequest): ChatMessage[] {
  const { message, selected, conversation } = request
  return [
    { role: 'system', content: `${character(context)}\n\nYou decide whether you want to say the next line. Answer with one JSON object: {"state": "speak" or "listen", "importance": 0 to 10 (how much your line matters now), "closing": "none", "pre-closing", "closing" or "terminal" (where the conversation should be heading: only move on from the current stage when it is winding down)}.` },
    {
      role: 'user',
      content: [
        `Conversation so far:\n${transcript(context)}`,
        '',
        `The line to react to: [${message.id}] from ${called(context, message.from)}: ${message.text}`,
        selected ? 'It asks you by name: you should speak.' : '',
        `Lines in this conversation: ${conversation.lines}; closing stage now: ${conversation.closing}.`,
        'Do you want to speak next?'
      ].filter(s => s !== '').join('\n')
    }
  ]
}

export function writeMessages (context: BrainContext, request: WriteRequest, addressees: string[]): ChatMessage[] {
  const { replyTo, vote, greet } = request
  const stage = vote?.closing ?? 'none'
  const task = greet !== null
    ? `${called(context, greet)} (id ${greet}) just arrived. Greet them warmly, in one or two sentences.`
    : stage === 'terminal' || stage === 'closing'
      ? 'The conversation is ending: say a short goodbye.'
      : stage === 'pre-closing'
        ? 'The conversation is winding down: say something that starts to wrap it up.'
        : `Answer [${replyTo?.id ?? ''}] from ${replyTo === null ? 'nobody' : called(context, replyTo.from)}, in one to three sentences. You may ask another companion by name to pass them the turn.`
  return [
    { role: 'system', content: `${character(context)}\n\nWrite your next line of the conversation. Answer with one JSON object: {"text": your line (plain spoken words, no name prefix, no quotes), "to": the ids you address (from: ${addressees.join(', ') || 'anyone'}), "emotion": one of ${EMOTIONS.join(', ')}, "gesture": one of ${GESTURE_CHOICES.join(', ')}}.` },
    { role: 'user', content: `Conversation so far:\n${transcript(context)}\n\n${task}` }
  ]
}

/** Shortens to the last sentence end before the limit. */
function clip (text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim()
  if (oneLine.length <= MAX_LINE_CHARS) return oneLine
  const cut = oneLine.slice(0, MAX_LINE_CHARS)
  const end = Math.max(cut.lastIndexOf('. '), cut.lastIndexOf('! '), cut.lastIndexOf('? '))
  return end > MAX_LINE_CHARS / 2 ? cut.slice(0, end + 1) : `${cut.trimEnd()}…`
}

interface ModelLimits {
  judgeTokens: number
  writeTokens: number
  /** Bound the line's length in the answer's schema. */
  lineChars?: number
}

/** The model brain over any way of asking a model. */
function createModelBrain (kind: 'llm' | 'local', complete: StructuredCompleter, limits: ModelLimits): Brain {
  const judge = async (context: BrainContext, request: JudgeRequest, signal: AbortSignal): Promise<Judgement> =>
    await complete({
      name: 'judgement',
      messages: judgeMessages(context, request),
      schema: JudgementSchema,
      temperature: 0.3,
      maxTokens: limits.judgeTokens
    }, signal)

  const write = async (context: BrainContext, request: WriteRequest, signal: AbortSignal): Promise<WrittenLine> => {
    const fallback = request.greet === null ? defaultAddressees(context, request.replyTo) : [request.greet, ...defaultAddressees(context, null)]
    const allowed = [...new Set(fallback)]
    const answer = await complete({
      name: 'line',
      messages: writeMessages(context, request, allowed),
      schema: lineSchema(allowed, limits.lineChars),
      maxTokens: limits.writeTokens
    }, signal)
    const to = answer.to.filter(id => allowed.includes(id))
    const { emotion, gesture } = answer
    const actions: BrainAction[] = []
    if (gesture !== 'none') actions.push({ name: 'gesture', params: { gesture } })
    actions.push({ name: 'emotion', params: { emotion } })
    return { text: clip(answer.text), to: to.length > 0 ? to : allowed, emotion, actions }
  }

  return { kind, judge, write }
}

/** The brain thinking with a model server's chat-completions endpoint. */
export function createLlmBrain (endpoint: ChatEndpoint): Brain {
  return createModelBrain('llm', async (request, signal) => await completeStructured(endpoint, request, signal), { judgeTokens: 60, writeTokens: 300 })
}

/** Characters of a line a model running here may write (its grammar holds it to them). */
const LOCAL_LINE_CHARS = 400

/**
 * How long a model running here may take to judge a line. A vote counts
 * only within the turn's vote window (3 s by default); a small model on a
 * slow CPU can take longer than that to read the conversation.
 */
export const LOCAL_JUDGE_WITHIN_MS = 2000

export class SlowJudgement extends Error {
  override name = 'SlowJudgement'
}

/**
 * The brain thinking with a model that runs here (in the tab, or in the
 * headless companion). It writes every line with the model. It judges with
 * the model too, but where that cannot help, `quick` (the built-in brain)
 * judges instead, at once: a line that names it (it speaks, whatever the
 * model would say), and a line the model has not judged within
 * `judgeWithinMs` (then the model stops, so that it is free to write).
 */
export function createLocalBrain (model: LocalModel, quick: Brain, judgeWithinMs = LOCAL_JUDGE_WITHIN_MS): Brain {
  const brain = createModelBrain('local', async (request, signal) => await completeLocally(model, request, signal), {
    judgeTokens: LOCAL_TOKEN_BUDGET.judge,
    writeTokens: LOCAL_TOKEN_BUDGET.write,
    lineChars: LOCAL_LINE_CHARS
  })
  const judge: Brain['judge'] = async (context, request, signal) => {
    if (request.selected) return await quick.judge(context, request, signal)
    const slow = new AbortController()
    const timer = setTimeout(() => { slow.abort(new SlowJudgement(`the model did not judge within ${judgeWithinMs} ms`)) }, judgeWithinMs)
    try {
      return await brain.judge(context, request, AbortSignal.any([signal, slow.signal]))
    } catch (err) {
      if (signal.aborted || !slow.signal.aborted) throw err
      return await quick.judge(context, request, signal)
    } finally {
      clearTimeout(timer)
    }
  }
  return { ...brain, judge }
}

/** Companions, besides those a line names, that ask a shared model to judge it. */
export const SHARED_JUDGES = 2

/**
 * Whether this companion asks the model to judge `request`'s line when the
 * companions of the room think through one endpoint: when the line names it,
 * or when it is one of the SHARED_JUDGES recipients whose hash with the line
 * comes first. Every companion computes the same sample from what it knows
 * of the room, so a line costs a few model calls whatever the room's size.
 */
export function asksSharedModel (context: BrainContext, request: JudgeRequest, sample = SHARED_JUDGES): boolean {
  if (request.selected) return true
  const { message } = request
  const present = [context.card.id, ...context.companions.map(c => c.id)]
  const recipients = (message.to.length === 0 ? present : message.to.filter(id => present.includes(id))).filter(id => id !== message.from)
  const rank = (id: string): number => hashString(`${message.id}|${id}`)
  return [...new Set(recipients)].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1)).slice(0, sample).includes(context.card.id)
}

/**
 * A model brain shared by the companions of a room (the relay's `/api/llm`,
 * the relay's own companions): only those `asksSharedModel` picks ask it to
 * judge a line; the others judge by `quick`'s rules (the built-in brain's),
 * at once. Whoever is chosen to speak writes its line with the model.
 */
export function shareJudging (model: Brain, quick: Brain, sample = SHARED_JUDGES): Brain {
  return {
    ...model,
    judge: async (context, request, signal) => asksSharedModel(context, request, sample)
      ? await model.judge(context, request, signal)
      : await quick.judge(context, request, signal)
  }
}

const CheckSchema = v.object({ ok: v.boolean() })

/**
 * One small structured request, no retries: what a settings page's Test
 * button needs. Resolves with the round-trip time in ms; throws `BrainError`.
 */
export async function checkEndpoint (endpoint: ChatEndpoint, signal: AbortSignal): Promise<number> {
  const started = Date.now()
  await completeStructured({ ...endpoint, retries: 0 }, {
    name: 'check',
    messages: [{ role: 'user', content: 'This is a connection test. Answer with the JSON object {"ok": true}.' }],
    schema: CheckSchema,
    temperature: 0,
    maxTokens: 20
  }, signal)
  return Date.now() - started
}
