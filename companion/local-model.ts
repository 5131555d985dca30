/**
 * A chat model that runs here, in this page or this Node process (llama.cpp
 * compiled to WebAssembly: @wllama/wllama, which runs it in a worker), and
 * the structured answers the model brain asks of it. Loading the engine
 * differs between the page (web/tab-model.ts) and Node
 * (headless/model-file.ts); answering is the same and lives here.
 *
 * One model thinks about one thing at a time: requests queue, a request
 * whose signal aborts while it waits is dropped, and each has a deadline
 * that counts its wait, so a slow answer fails as a `BrainError` (the
 * companion listens) instead of stalling turn-taking. Answers are
 * constrained by the answer's JSON Schema (llama.cpp turns it into a
 * grammar), so each one parses; it is still checked.
 */
import type { Wllama } from '@wllama/wllama/esm/index.js'
import type { StorageBackend } from '@wllama/wllama/esm/storage/index.js'
import * as v from 'valibot'
import { BrainError } from './brain.ts'
import { answerJsonSchema, extractJsonObject } from './chat-completions.ts'
import type { AnswerObjectSchema, ChatMessage, StructuredRequest } from './chat-completions.ts'

/** Whether these are the first bytes of a GGUF model file: every one starts with the magic "GGUF". */
export function isGgufHeader (bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x47 && bytes[1] === 0x47 && bytes[2] === 0x55 && bytes[3] === 0x46
}

export interface LocalAnswer {
  /** The answer's text (JSON under the schema). */
  text: string
  /** Tokens generated. */
  tokens: number
  /** Time from the start of generation to its end (ms), not counting the wait in the queue. */
  ms: number
}

export interface LocalRequest {
  messages: ChatMessage[]
  /** The JSON Schema the answer is held to. */
  jsonSchema: Record<string, unknown>
  name: string
  maxTokens: number
  temperature: number
}

export interface LocalModel {
  /** What the person sees (the file's name). */
  readonly name: string
  /** One answer under `request.jsonSchema`. Throws `BrainError`, or the abort reason when `signal` aborts. */
  answer: (request: LocalRequest, signal: AbortSignal) => Promise<LocalAnswer>
  /** Frees the engine (its worker and memory). */
  unload: () => Promise<void>
}

/** wllama's logger: its chatter (model metadata, each step of loading) dropped, warnings and errors kept. */
export const ENGINE_LOGGER = {
  debug: () => {},
  log: () => {},
  warn: (...args: unknown[]) => { console.warn('model engine:', ...args) },
  error: (...args: unknown[]) => { console.error('model engine:', ...args) }
}

/**
 * wllama's download cache, which we do not use: the engine is handed the
 * file (Node reads it where it lies; the page keeps its own copies,
 * web/model-store.ts). wllama insists on a storage backend, and its default
 * one fails where the page is not a secure context (a plain-http LAN page).
 */
export const NO_ENGINE_STORAGE: StorageBackend = {
  isSupported: () => true,
  read: async () => null,
  write: async () => { throw new Error('the engine keeps no downloaded copies: it is handed the file') },
  getSize: async () => 0,
  list: async () => [],
  delete: async () => {}
}

/** Longest one request may take, waiting in the queue included. */
export const LOCAL_ANSWER_TIMEOUT_MS = 60_000

/**
 * Throws when `loadModel` resolved but llama.cpp read no model (wllama does
 * not say so itself: a file that is GGUF by its first bytes only "loads").
 */
export function checkLoaded (engine: Wllama): void {
  const info = engine.getLoadedContextInfo() as ReturnType<Wllama['getLoadedContextInfo']> & { success?: boolean }
  if (info.success === false || !(info.n_vocab > 0) || !(info.n_layer > 0)) throw new Error('llama.cpp could not read a model from it (a damaged or unsupported GGUF file)')
}

/** Wraps a loaded wllama engine. */
export function wllamaModel (engine: Wllama, name: string, timeoutMs = LOCAL_ANSWER_TIMEOUT_MS): LocalModel {
  let queue: Promise<unknown> = Promise.resolve()
  let unloaded = false

  const run = async (request: LocalRequest, signal: AbortSignal): Promise<LocalAnswer> => {
    if (unloaded) throw new BrainError(`the model ${name} was unloaded`)
    const started = Date.now()
    let answer
    try {
      answer = await engine.createChatCompletion({
        messages: request.messages,
        response_format: { type: 'json_schema', json_schema: { name: request.name, schema: request.jsonSchema, strict: true } },
        max_tokens: request.maxTokens,
        temperature: request.temperature,
        abortSignal: signal,
        stream: false
      })
    } catch (err) {
      if (signal.aborted) throw signal.reason
      throw new BrainError(`the model ${name} failed: ${(err as Error).message ?? String(err)}`)
    }
    const ms = Date.now() - started
    // What the companion does with the answer (say the line, show it) runs
    // in a task of its own, not in the engine's message handler: the
    // engine's own tasks on the page stay a few milliseconds long.
    await new Promise(resolve => setTimeout(resolve, 0))
    const choice = answer.choices[0]
    const text = typeof choice?.message?.content === 'string' ? choice.message.content : ''
    return { text, tokens: answer.usage?.completion_tokens ?? 0, ms }
  }

  return {
    name,
    answer: async (request, signal) => {
      const deadline = AbortSignal.timeout(timeoutMs)
      const both = AbortSignal.any([signal, deadline])
      const turn = queue.then(async () => {
        if (both.aborted) throw both.reason
        return await run(request, both)
      })
      queue = turn.catch(() => {})
      try {
        return await turn
      } catch (err) {
        if (signal.aborted) throw signal.reason
        if (deadline.aborted) throw new BrainError(`the model ${name} did not answer within ${Math.round(timeoutMs / 1000)} s`)
        throw err
      }
    },
    unload: async () => {
      unloaded = true
      await engine.exit()
    }
  }
}

/** How many tokens a local model may spend per answer (small models pad JSON with spaces). */
export const LOCAL_TOKEN_BUDGET = { judge: 200, write: 700 } as const

/**
 * The schema as llama.cpp's grammar should hold the model to it: without
 * `pattern`s, which it reads as the whole string and then drops the string's
 * `maxLength` (the answer is still checked against them).
 */
function grammarSchema (schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(grammarSchema)
  if (schema === null || typeof schema !== 'object') return schema
  return Object.fromEntries(Object.entries(schema).filter(([key]) => key !== 'pattern').map(([key, value]) => [key, grammarSchema(value)]))
}

/**
 * Asks `model` for one object of `request.schema` and returns it checked.
 * A sampled answer that does not fit gets one more try; then `BrainError`.
 */
export async function completeLocally<S extends AnswerObjectSchema> (model: LocalModel, request: StructuredRequest<S>, signal: AbortSignal): Promise<v.InferOutput<S>> {
  const jsonSchema = grammarSchema(answerJsonSchema(request.schema)) as Record<string, unknown>
  let problem = ''
  for (let attempt = 0; attempt < 2; attempt++) {
    const { text } = await model.answer({
      messages: request.messages,
      jsonSchema,
      name: request.name,
      maxTokens: request.maxTokens ?? LOCAL_TOKEN_BUDGET.write,
      temperature: request.temperature ?? 0.8
    }, signal)
    const parsed = v.safeParse(request.schema, extractJsonObject(text))
    if (parsed.success) return parsed.output
    const issue = parsed.issues[0]
    problem = `the model's ${request.name} does not fit (${v.getDotPath(issue) ?? 'answer'}: ${issue.message}): ${text.slice(0, 120)}`
  }
  throw new BrainError(`${problem} (after 2 attempts)`)
}
