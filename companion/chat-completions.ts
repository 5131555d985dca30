/**
 * A small client for OpenAI-compatible `/chat/completions` endpoints (Ollama,
 * llama.cpp server, LM Studio, vLLM, OpenAI, or the relay's `/api/llm`
 * proxy) that asks for one JSON object matching a JSON Schema and returns it
 * validated. It owns the endpoint's failure modes: a deadline per attempt,
 * retries with backoff for what may pass (network errors, 408, 429, 5xx),
 * a one-time fallback for servers that refuse `response_format`, and a
 * `BrainError` that says in plain words what went wrong. Runs in the page
 * and in Node (global `fetch`).
 */
import { toJsonSchema } from '@valibot/to-json-schema'
import * as v from 'valibot'
import { parseJson } from '../protocol/codec.ts'
import { BrainError } from './brain.ts'
import { backoffDelay } from '../protocol/backoff.ts'

export interface ChatEndpoint {
  /** Base URL up to and without `/chat/completions`, e.g. `http://127.0.0.1:11434/v1` or `/api/llm`. */
  baseUrl: string
  model: string
  /** Sent as `Authorization: Bearer …` when set. */
  apiKey?: string
  /** Deadline of one attempt (ms). */
  timeoutMs?: number
  /** Further attempts after a failure that may pass. */
  retries?: number
  /** First backoff (ms); doubles per attempt, capped at 5 s. */
  backoffMs?: number
  fetch?: typeof fetch
}

export interface ChatMessage { role: 'system' | 'user' | 'assistant', content: string }

/** An object schema: the one object wanted. */
export type AnswerObjectSchema = v.ObjectSchema<v.ObjectEntries, v.ErrorMessage<v.ObjectIssue> | undefined>

export interface StructuredRequest<S extends AnswerObjectSchema> {
  messages: ChatMessage[]
  /** Name of the schema (the server and the logs see it). */
  name: string
  /**
   * The one object wanted. The server's structured output gets its JSON
   * Schema, generated from it; the answer is checked with it (the model is
   * not trusted).
   */
  schema: S
  temperature?: number
  maxTokens?: number
}

/** Asks a model, wherever it runs, for one object of `request.schema`, checked. */
export type StructuredCompleter = <S extends AnswerObjectSchema>(request: StructuredRequest<S>, signal: AbortSignal) => Promise<v.InferOutput<S>>

/**
 * The JSON Schema for structured output: the schema's fields, all required,
 * no others (what OpenAI's strict mode asks for). Generated, so the request
 * and the check can never disagree.
 */
export function answerJsonSchema (schema: AnswerObjectSchema): Record<string, unknown> {
  const { $schema: _draft, ...json } = toJsonSchema(v.strictObject(schema.entries))
  return json
}

export const CHAT_DEFAULTS = { timeoutMs: 30_000, retries: 2, backoffMs: 500 } as const

/** Largest answer body we read (a line of talk is a few hundred bytes). */
const MAX_ANSWER_CHARS = 256 * 1024

const AnswerSchema = v.object({
  choices: v.pipe(v.array(v.object({
    message: v.object({ content: v.nullish(v.string()), refusal: v.nullish(v.string()) }),
    finish_reason: v.nullish(v.string())
  })), v.minLength(1))
})

export function completionsUrl (baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/chat/completions`
}

/** An attempt failed; `retry` says whether another attempt may pass. */
class AttemptError extends Error {
  readonly retry: boolean
  readonly retryAfterMs: number | undefined
  /** The server refused `response_format`: ask again without it. */
  readonly formatRefused: boolean
  constructor (message: string, retry: boolean, retryAfterMs?: number, formatRefused = false) {
    super(message)
    this.retry = retry
    this.retryAfterMs = retryAfterMs
    this.formatRefused = formatRefused
  }
}

function describeStatus (status: number, url: string, detail: string): string {
  const why = status === 401 || status === 403
    ? 'refused the key'
    : status === 404 ? 'has no such path or model' : status === 429 ? 'is rate limiting us' : status >= 500 ? 'failed' : 'refused the request'
  return `${url} ${why} (HTTP ${status}${detail === '' ? '' : `: ${detail}`})`
}

/** The error text an OpenAI-style server puts in its body, shortened. */
function errorDetail (text: string): string {
  const json = parseJson(text)
  const body = json.ok ? json.value as { error?: { message?: unknown } | string, message?: unknown } : undefined
  const message = typeof body?.error === 'string' ? body.error : body?.error?.message ?? body?.message
  const detail = typeof message === 'string' ? message : text
  return detail.replace(/\s+/g, ' ').trim().slice(0, 200)
}

/** Pulls the JSON object out of an answer, tolerating code fences and chatter around it. */
export function extractJsonObject (content: string): unknown {
  const direct = parseJson(content)
  if (direct.ok) return direct.value
  const start = content.indexOf('{')
  const end = content.lastIndexOf('}')
  if (start === -1 || end <= start) return undefined
  const inner = parseJson(content.slice(start, end + 1))
  return inner.ok ? inner.value : undefined
}

const sleep = async (ms: number, signal: AbortSignal): Promise<void> => {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => { clearTimeout(timer); reject(signal.reason as Error) }, { once: true })
  })
}

function retryAfter (header: string | null): number | undefined {
  if (header === null) return undefined
  const seconds = Number(header)
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined
}

/**
 * Asks for one JSON object and returns it checked against `request.schema`.
 * Throws `BrainError` (a person should hear of it) or, when `signal` aborts,
 * the abort reason (nobody should).
 */
export async function completeStructured<S extends AnswerObjectSchema> (endpoint: ChatEndpoint, request: StructuredRequest<S>, signal: AbortSignal): Promise<v.InferOutput<S>> {
  const url = completionsUrl(endpoint.baseUrl)
  const timeoutMs = endpoint.timeoutMs ?? CHAT_DEFAULTS.timeoutMs
  const retries = endpoint.retries ?? CHAT_DEFAULTS.retries
  const backoffMs = endpoint.backoffMs ?? CHAT_DEFAULTS.backoffMs
  const doFetch = endpoint.fetch ?? globalThis.fetch
  let structured = true
  const jsonSchema = answerJsonSchema(request.schema)

  const attempt = async (): Promise<v.InferOutput<S>> => {
    const body: Record<string, unknown> = {
      model: endpoint.model,
      messages: request.messages,
      stream: false,
      temperature: request.temperature ?? 0.8,
      ...(request.maxTokens === undefined ? {} : { max_tokens: request.maxTokens })
    }
    if (structured) body.response_format = { type: 'json_schema', json_schema: { name: request.name, strict: true, schema: jsonSchema } }
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (endpoint.apiKey !== undefined && endpoint.apiKey !== '') headers.authorization = `Bearer ${endpoint.apiKey}`
    const deadline = AbortSignal.timeout(timeoutMs)
    let response: Response
    let text: string
    try {
      response = await doFetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.any([signal, deadline]) })
      text = await response.text()
    } catch (err) {
      if (signal.aborted) throw err
      if (deadline.aborted) throw new AttemptError(`${url} did not answer within ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`}`, true)
      throw new AttemptError(`could not reach ${url} (${(err as Error).message}${(err as Error & { cause?: Error }).cause?.message === undefined ? '' : `: ${(err as Error & { cause: Error }).cause.message}`})`, true)
    }
    if (!response.ok) {
      const detail = errorDetail(text)
      const formatRefused = structured && response.status === 400 && /response_format|json_schema|schema/i.test(detail)
      const retry = response.status === 408 || response.status === 429 || response.status >= 500
      throw new AttemptError(describeStatus(response.status, url, detail), retry, retryAfter(response.headers.get('retry-after')), formatRefused)
    }
    if (text.length > MAX_ANSWER_CHARS) throw new AttemptError(`${url} answered more than ${MAX_ANSWER_CHARS} characters`, false)
    const json = parseJson(text)
    const answer = json.ok ? v.safeParse(AnswerSchema, json.value) : undefined
    if (answer === undefined || !answer.success) throw new AttemptError(`${url} did not answer like a chat-completions endpoint: ${text.slice(0, 120)}`, false)
    const choice = answer.output.choices[0]
    const content = choice.message.content ?? ''
    if (content === '') throw new AttemptError(`the model answered nothing${choice.message.refusal != null ? ` (refused: ${choice.message.refusal})` : ''}`, true)
    const parsed = v.safeParse(request.schema, extractJsonObject(content))
    if (!parsed.success) {
      const issue = parsed.issues[0]
      // A sampled answer may come out right the next time.
      throw new AttemptError(`the model's ${request.name} does not fit (${v.getDotPath(issue) ?? 'answer'}: ${issue.message}): ${content.slice(0, 120)}`, true)
    }
    return parsed.output
  }

  for (let n = 0; ; n++) {
    try {
      return await attempt()
    } catch (err) {
      if (signal.aborted) throw signal.reason
      if (!(err instanceof AttemptError)) throw new BrainError((err as Error).message)
      if (err.formatRefused) {
        // Older servers refuse structured output: ask again with the schema in words only.
        structured = false
        continue
      }
      if (!err.retry || n >= retries) {
        throw new BrainError(n === 0 ? err.message : `${err.message} (after ${n + 1} attempts)`)
      }
      await sleep(Math.min(5000, err.retryAfterMs ?? backoffDelay(n + 1, { first: backoffMs, max: 5000 })), signal)
    }
  }
}
