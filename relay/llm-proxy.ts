/**
 * `POST /api/llm/chat/completions`: the relay forwards a page's
 * chat-completions request to the LAN's model endpoint (`--llm-url`), adding
 * the key (`--llm-key`, which never leaves the relay) and the model
 * (`--llm-model`: with a key, the only model it asks for; without, it wins
 * over the page's). Same origin as the page, so the browser needs no CORS.
 * It is for companions, not a free endpoint for whoever reaches the port:
 * bounded in request and answer size, time per request and requests in
 * flight, `max_tokens` held to what companions ask (`--llm-max-tokens`),
 * a rate per client address and a token budget an hour (llm-guard.ts).
 * Errors are OpenAI-shaped (`{"error":{"message","type"}}`, 429 with
 * `retry-after`) so any client reads them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { completionsUrl } from '../companion/chat-completions.ts'
import { LlmGuard } from './llm-guard.ts'
import type { LlmLimits } from './llm-guard.ts'

export const LLM_PROXY_PATH = '/api/llm/chat/completions'

export interface LlmProxyOptions {
  /** Base URL of the OpenAI-compatible endpoint, up to and without `/chat/completions`. */
  url: string
  key?: string
  model?: string
  /** Deadline for the endpoint's answer (ms). */
  timeoutMs: number
  maxRequestBytes: number
  maxAnswerBytes: number
  maxInFlight: number
  limits: LlmLimits
}

export const LLM_PROXY_LIMITS = { maxRequestBytes: 256 * 1024, maxAnswerBytes: 1024 * 1024, maxInFlight: 8 } as const

export interface LlmProxy {
  /** What `/api/relay` tells pages: the model the relay uses, if it names one. */
  info: { model: string | null }
  handle: (req: IncomingMessage, res: ServerResponse) => void
  /** For `/healthz`: requests forwarded, capped and refused (by why), tokens spent this hour. */
  stats: () => Record<string, unknown>
}

class ProxyError extends Error {
  readonly status: number
  /** OpenAI-style error type. */
  readonly type: string
  readonly headers: Record<string, string>
  constructor (status: number, message: string, type = 'invalid_request_error', headers: Record<string, string> = {}) {
    super(message)
    this.status = status
    this.type = type
    this.headers = headers
  }
}

function sendError (res: ServerResponse, err: ProxyError): void {
  const text = JSON.stringify({ error: { message: err.message, type: err.type } })
  res.writeHead(err.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...err.headers })
  res.end(text)
}

async function readBody (req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit) throw new ProxyError(413, `request larger than ${limit} bytes`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength
    if (size > limit) throw new ProxyError(413, `request larger than ${limit} bytes`)
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

async function readAnswer (response: Response, limit: number): Promise<Buffer> {
  if (response.body === null) return Buffer.alloc(0)
  const reader = response.body.getReader()
  const chunks: Buffer[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return Buffer.concat(chunks)
    size += value.byteLength
    if (size > limit) {
      await reader.cancel()
      throw new ProxyError(502, `the model endpoint answered more than ${limit} bytes`, 'upstream_error')
    }
    chunks.push(Buffer.from(value))
  }
}

/** What a request costs the budget before its answer says: the tokens it may write, and its prompt (about 4 bytes a token). */
const reservation = (maxTokens: number, requestBytes: number): number => maxTokens + Math.ceil(requestBytes / 4)

export function createLlmProxy (options: LlmProxyOptions, now: () => number = Date.now): LlmProxy {
  const target = completionsUrl(options.url)
  const keyed = options.key !== undefined && options.key !== ''
  const guard = new LlmGuard(options.limits, now)
  const counts = { forwarded: 0, capped: 0, refused: { busy: 0, model: 0 } }
  let inFlight = 0

  const forward = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'POST') throw new ProxyError(405, 'use POST', 'invalid_request_error', { allow: 'POST' })
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) throw new ProxyError(415, 'send a JSON body (content-type: application/json)')
    const raw = await readBody(req, options.maxRequestBytes)
    let body: unknown
    try {
      body = JSON.parse(raw.toString('utf8'))
    } catch (err) {
      throw new ProxyError(400, `the body is not JSON: ${(err as Error).message}`)
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ProxyError(400, 'the body must be a JSON object')
    const request = body as Record<string, unknown>
    if (request.stream === true) throw new ProxyError(400, 'streaming is not supported by this proxy: send "stream": false')
    const asked = typeof request.model === 'string' && request.model !== '' ? request.model : undefined
    // With a key, the relay's model only: a client cannot spend it on another.
    if (keyed && asked !== undefined && asked !== options.model) {
      counts.refused.model++
      throw new ProxyError(400, `this relay asks for its own model only (${options.model ?? ''}), not ${asked.slice(0, 100)}`)
    }
    const model = options.model ?? asked
    if (model === undefined) throw new ProxyError(400, 'no model: name one in the request, or start the relay with --llm-model')
    // As many tokens as companions ask for, at most.
    const field = request.max_completion_tokens !== undefined && request.max_tokens === undefined ? 'max_completion_tokens' : 'max_tokens'
    const wanted = Number(request[field])
    const cap = options.limits.maxTokens
    const maxTokens = Number.isFinite(wanted) && wanted > 0 ? Math.min(Math.floor(wanted), cap) : cap
    const capped = Number.isFinite(wanted) && wanted > cap
    const client = req.socket.remoteAddress ?? 'unknown'
    const admission = guard.admit(client, reservation(maxTokens, raw.byteLength))
    if (!admission.ok) throw new ProxyError(429, admission.message, 'rate_limit_error', { 'retry-after': String(admission.retryAfterS) })
    if (capped) counts.capped++

    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' }
    if (options.key !== undefined && options.key !== '') headers.authorization = `Bearer ${options.key}`
    const abort = new AbortController()
    // A page that gave up (closed, aborted) needs no answer: stop asking too.
    res.on('close', () => { if (!res.writableFinished) abort.abort() })
    const deadline = AbortSignal.timeout(options.timeoutMs)
    let response: Response
    let answer: Buffer
    try {
      counts.forwarded++
      response = await fetch(target, { method: 'POST', headers, body: JSON.stringify({ ...request, model, stream: false, [field]: maxTokens }), signal: AbortSignal.any([abort.signal, deadline]) })
      answer = await readAnswer(response, options.maxAnswerBytes)
      guard.settle(admission.admitted, spentBy(answer))
    } catch (err) {
      if (err instanceof ProxyError) throw err
      if (deadline.aborted) throw new ProxyError(504, `the model endpoint did not answer within ${Math.round(options.timeoutMs / 1000)} s`, 'upstream_timeout')
      const cause = (err as Error & { cause?: Error }).cause?.message
      throw new ProxyError(502, `the relay could not reach its model endpoint (${cause ?? (err as Error).message})`, 'upstream_error')
    }
    res.writeHead(response.status, {
      'content-type': response.headers.get('content-type') ?? 'application/json',
      'content-length': answer.byteLength,
      'cache-control': 'no-store',
      // Said when the request asked more tokens than companions do.
      ...(capped ? { 'x-kotoba-max-tokens': `${maxTokens} (asked ${wanted}; this relay's --llm-max-tokens)` } : {}),
      ...(response.headers.has('retry-after') ? { 'retry-after': response.headers.get('retry-after')! } : {})
    })
    res.end(answer)
  }

  return {
    info: { model: options.model ?? null },
    handle: (req, res) => {
      if (inFlight >= options.maxInFlight) {
        counts.refused.busy++
        sendError(res, new ProxyError(429, `${options.maxInFlight} model requests are already in flight; try again shortly`, 'rate_limit_error', { 'retry-after': '1' }))
        req.resume()
        return
      }
      inFlight++
      forward(req, res)
        .catch((err: unknown) => {
          if (res.headersSent) { res.destroy(); return }
          sendError(res, err instanceof ProxyError ? err : new ProxyError(500, `internal error: ${(err as Error).message}`, 'internal_error'))
          req.resume()
        })
        .finally(() => { inFlight-- })
    },
    stats: () => ({
      forwarded: counts.forwarded,
      capped: counts.capped,
      refused: { ...counts.refused, ...guard.refused },
      tokensThisHour: guard.spentThisHour(),
      budgetPerHour: options.limits.budgetPerHour,
      inFlight
    })
  }
}

/** The tokens an answer says it spent (`usage.total_tokens`), if it says. */
function spentBy (answer: Buffer): number | undefined {
  try {
    const total = (JSON.parse(answer.toString('utf8')) as { usage?: { total_tokens?: unknown } }).usage?.total_tokens
    return typeof total === 'number' ? total : undefined
  } catch {
    return undefined
  }
}
