/**
 * The LLM brain: the card becomes the character a chat model plays. It asks
 * the model for a judgement ({state, importance, closing}) and for a line
 * ({text, to, emotion, gesture}) with structured output, and checks both:
 * addressees outside the conversation are dropped, an unknown emotion or
 * gesture falls back to neutral or none, and the text is trimmed to a line.
 * The endpoint's failures come out as `BrainError`s (chat-completions.ts);
 * the companion then listens instead of hanging.
 */
import * as v from 'valibot'
import { CLOSING_STAGES } from '../protocol/payloads.ts'
import type { Brain, BrainAction, BrainContext, Emotion, JudgeRequest, WriteRequest, WrittenLine } from './brain.ts'
import { EMOTIONS, GESTURES, defaultAddressees } from './brain.ts'
import { completeStructured } from './chat-completions.ts'
import type { ChatEndpoint, ChatMessage } from './chat-completions.ts'
import type { Judgement } from './turn-state.ts'

/** Lines of history the model sees. */
const HISTORY_LINES = 12
/** A spoken line, not an essay. */
const MAX_LINE_CHARS = 600

const JUDGEMENT_JSON_SCHEMA = {
  type: 'object',
  properties: {
    state: { type: 'string', enum: ['speak', 'listen'] },
    importance: { type: 'integer', minimum: 0, maximum: 10 },
    closing: { type: 'string', enum: [...CLOSING_STAGES] }
  },
  required: ['state', 'importance', 'closing'],
  additionalProperties: false
}

const JudgementSchema = v.object({
  state: v.picklist(['speak', 'listen']),
  importance: v.pipe(v.number(), v.transform(n => Math.round(Math.min(10, Math.max(0, n))))),
  closing: v.optional(v.picklist(CLOSING_STAGES), 'none')
})

const GESTURE_CHOICES = [...GESTURES, 'none'] as const

const lineJsonSchema = (addressees: string[]): Record<string, unknown> => ({
  type: 'object',
  properties: {
    text: { type: 'string' },
    to: { type: 'array', items: addressees.length > 0 ? { type: 'string', enum: addressees } : { type: 'string' } },
    emotion: { type: 'string', enum: [...EMOTIONS] },
    gesture: { type: 'string', enum: [...GESTURE_CHOICES] }
  },
  required: ['text', 'to', 'emotion', 'gesture'],
  additionalProperties: false
})

const LineSchema = v.object({
  text: v.pipe(v.string(), v.trim(), v.minLength(1, 'the line is empty')),
  to: v.optional(v.array(v.string()), []),
  emotion: v.optional(v.string(), 'neutral'),
  gesture: v.optional(v.string(), 'none')
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

function transcript (context: BrainContext): string {
  const lines = context.history.slice(-HISTORY_LINES)
  if (lines.length === 0) return '(nothing has been said yet)'
  return lines.map(l => {
    const to = l.to.length === 0 ? 'everyone' : l.to.map(id => context.nameOf(id)).join(', ')
    return `[${l.id}] ${context.nameOf(l.from)} (id ${l.from}) to ${to}: ${l.text}`
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
        `The line to react to: [${message.id}] from ${context.nameOf(message.from)}: ${message.text}`,
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
    ? `${context.nameOf(greet)} (id ${greet}) just arrived. Greet them warmly, in one or two sentences.`
    : stage === 'terminal' || stage === 'closing'
      ? 'The conversation is ending: say a short goodbye.'
      : stage === 'pre-closing'
        ? 'The conversation is winding down: say something that starts to wrap it up.'
        : `Answer [${replyTo?.id ?? ''}] from ${replyTo === null ? 'nobody' : context.nameOf(replyTo.from)}, in one to three sentences. You may ask another companion by name to pass them the turn.`
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

export function createLlmBrain (endpoint: ChatEndpoint): Brain {
  const judge = async (context: BrainContext, request: JudgeRequest, signal: AbortSignal): Promise<Judgement> =>
    await completeStructured(endpoint, {
      name: 'judgement',
      messages: judgeMessages(context, request),
      jsonSchema: JUDGEMENT_JSON_SCHEMA,
      schema: JudgementSchema,
      temperature: 0.3,
      maxTokens: 60
    }, signal)

  const write = async (context: BrainContext, request: WriteRequest, signal: AbortSignal): Promise<WrittenLine> => {
    const fallback = request.greet === null ? defaultAddressees(context, request.replyTo) : [request.greet, ...defaultAddressees(context, null)]
    const allowed = [...new Set(fallback)]
    const answer = await completeStructured(endpoint, {
      name: 'line',
      messages: writeMessages(context, request, allowed),
      jsonSchema: lineJsonSchema(allowed),
      schema: LineSchema,
      maxTokens: 300
    }, signal)
    const to = answer.to.filter(id => allowed.includes(id))
    const emotion: Emotion = (EMOTIONS as readonly string[]).includes(answer.emotion) ? answer.emotion as Emotion : 'neutral'
    const actions: BrainAction[] = []
    if ((GESTURES as readonly string[]).includes(answer.gesture)) actions.push({ name: 'gesture', params: { gesture: answer.gesture } })
    actions.push({ name: 'emotion', params: { emotion } })
    return { text: clip(answer.text), to: to.length > 0 ? to : allowed, emotion, actions }
  }

  return { kind: 'llm', judge, write }
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
    jsonSchema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'], additionalProperties: false },
    schema: CheckSchema,
    temperature: 0,
    maxTokens: 20
  }, signal)
  return Date.now() - started
}
