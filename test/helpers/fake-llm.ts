/**
 * A tiny OpenAI-compatible chat-completions server on loopback, started by
 * the tests themselves. By default it answers every structured request with
 * a valid object for the schema it was sent (judgement, line, check), the
 * line quoting the request so tests can tell it was the model that spoke.
 * Tests script the next answers (`script`) to make it fail, hang or talk
 * nonsense, and read what it received (`requests`).
 */
import { createServer } from 'node:http'
import type { IncomingHttpHeaders, ServerResponse } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'

export interface ReceivedRequest { path: string, headers: IncomingHttpHeaders, body: any }

/** One scripted answer: a status and body, raw content for the model's message, or no answer at all. */
export type Scripted =
  | { status: number, body?: unknown, headers?: Record<string, string> }
  | { content: string }
  | { hang: true }

export interface FakeLlm {
  /** Base URL, as a user would configure it: `http://127.0.0.1:PORT/v1`. */
  baseUrl: string
  requests: ReceivedRequest[]
  /** Answers for the next requests, in order; after them the default answers again. */
  script: (...answers: Scripted[]) => void
  /** From now on, every request gets this (until `script` or `reset`). */
  always: (answer: Scripted) => void
  reset: () => void
  /** Requests left hanging are answered 503 when closing. */
  close: () => Promise<void>
}

/** The model's text for a line: says who it is and what it answered. */
export const FAKE_LINE_PREFIX = 'Model says:'

function defaultContent (body: any): string {
  const format = body?.response_format
  const name = format?.json_schema?.name
  const schema = format?.json_schema?.schema
  const lastUser = [...(body?.messages ?? [])].reverse().find((m: any) => m.role === 'user')?.content ?? ''
  // Without a schema name, tell from the prompt what is wanted.
  const prompt = (body?.messages ?? []).map((m: any) => String(m.content)).join('\n')
  const wanted = name ?? (prompt.includes('"text"') ? 'line' : prompt.includes('"state"') ? 'judgement' : 'check')
  let object: unknown
  if (wanted === 'judgement') object = { state: 'speak', importance: 5, closing: 'none' }
  else if (wanted === 'line') {
    const ids: string[] = schema?.properties?.to?.items?.enum ?? []
    const answering = /Answer \[([^\]]*)\]/.exec(lastUser)?.[1] ?? 'a greeting'
    object = { text: `${FAKE_LINE_PREFIX} I heard you (${answering}).`, to: ids.slice(0, 1), emotion: 'happy', gesture: 'nod' }
  } else object = { ok: true }
  // Without structured output, answer the way chatty models do: fenced, with words around.
  return format === undefined ? `Sure! Here it is:\n\`\`\`json\n${JSON.stringify(object)}\n\`\`\`` : JSON.stringify(object)
}

function completion (content: string, model: string): unknown {
  return {
    id: 'chatcmpl-fake',
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }
  }
}

/** Like Ollama with OLLAMA_ORIGINS=*: any page may call it. */
const CORS = { 'access-control-allow-origin': '*', 'access-control-allow-headers': 'authorization, content-type', 'access-control-allow-methods': 'POST, OPTIONS' }

function send (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', ...CORS, ...headers }).end(text)
}

/** `delayMs`: every answer comes this long after its request (a model at work). */
export async function startFakeLlm (options: { delayMs?: number } = {}): Promise<FakeLlm> {
  const delayMs = options.delayMs ?? 0
  const requests: ReceivedRequest[] = []
  let queue: Scripted[] = []
  let standing: Scripted | undefined
  const hanging = new Set<ServerResponse>()

  const server = createServer((req, res) => {
    if (req.method === 'OPTIONS') {
      res.writeHead(204, CORS).end()
      return
    }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      let body: any
      try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')) } catch { body = undefined }
      requests.push({ path: req.url ?? '', headers: req.headers, body })
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        send(res, 404, { error: { message: `no route ${req.method} ${req.url}` } })
        return
      }
      const answer = queue.shift() ?? standing
      if (delayMs > 0 && (answer === undefined || !('hang' in answer))) {
        setTimeout(() => { reply(res, body, answer) }, delayMs)
        return
      }
      reply(res, body, answer)
    })
  })
  const reply = (res: ServerResponse, body: any, answer: Scripted | undefined): void => {
    if (answer === undefined) send(res, 200, completion(defaultContent(body), body?.model ?? 'fake'))
    else if ('hang' in answer) { hanging.add(res); res.on('close', () => hanging.delete(res)) }
    else if ('content' in answer) send(res, 200, completion(answer.content, body?.model ?? 'fake'))
    else send(res, answer.status, answer.body ?? { error: { message: `scripted ${answer.status}` } }, answer.headers)
  }
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    script: (...answers) => { queue.push(...answers) },
    always: (answer) => { queue = []; standing = answer },
    reset: () => { queue = []; standing = undefined },
    close: async () => {
      for (const res of hanging) send(res, 503, { error: { message: 'closing' } })
      server.closeAllConnections()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
}
