/**
 * The relay's one HTTP port: the built page, `/api/relay` (how a page finds
 * the relay it was served by), `/healthz`, the `/api/llm` proxy, and the
 * `/firehose` upgrade.
 * libp2p's WebSocket listener owns a server of its own on another port.
 */
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import sirv from 'sirv'
import type { Firehose } from './firehose.ts'
import { LLM_PROXY_PATH } from './llm-proxy.ts'
import type { LlmProxy } from './llm-proxy.ts'
import type { RelayInfo } from '../protocol/relay-api.ts'

export interface HttpServerOptions {
  webRoot: string
  firehose: Firehose
  /** Multiaddrs for a page that reached us as `hostname` (from its Host header). */
  relayInfo: (hostname: string | undefined) => RelayInfo
  health: () => Record<string, unknown>
  /** The model proxy, when `--llm-url` is set. */
  llm?: LlmProxy
}

function sendJson (res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store'
  })
  res.end(text)
}

/** The hostname a client used to reach us, if its Host header is sane. */
export function requestHostname (request: IncomingMessage): string | undefined {
  const host = request.headers.host
  if (host === undefined) return undefined
  try {
    const hostname = new URL(`http://${host}`).hostname
    return hostname === '' ? undefined : hostname.replace(/^\[(.*)\]$/, '$1')
  } catch {
    return undefined
  }
}

export function createHttpServer (options: HttpServerOptions): Server {
  const { webRoot, firehose, relayInfo, health, llm } = options
  const pageBuilt = existsSync(join(webRoot, 'index.html'))
  // sirv indexes the folder once at start: a page rebuilt later needs a relay restart.
  const serveStatic = pageBuilt ? sirv(webRoot, { etag: true, dev: false }) : undefined

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (path === LLM_PROXY_PATH) {
      if (llm !== undefined) llm.handle(req, res)
      else sendJson(res, 503, { error: { message: 'this relay has no model endpoint: start it with --llm-url', type: 'not_configured' } })
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end()
      return
    }
    if (path === '/api/relay') {
      sendJson(res, 200, relayInfo(requestHostname(req)))
      return
    }
    if (path === '/healthz') {
      sendJson(res, 200, health())
      return
    }
    if (path === '/firehose/info') {
      sendJson(res, 200, firehose.info())
      return
    }
    if (path === '/firehose') {
      res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' }).end('This is a WebSocket endpoint: connect with ws://\n')
      return
    }
    if (serveStatic === undefined) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('The page is not built. Run `npm run build` (or start the relay with `npm start`).\n')
      return
    }
    serveStatic(req, res, () => {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n')
    })
  })

  server.on('upgrade', (req, socket, head) => {
    const path = (req.url ?? '/').split('?')[0]
    if (path !== '/firehose') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n')
      return
    }
    firehose.handleUpgrade(req, socket, head)
  })

  // Slow or idle clients must not hold sockets forever.
  server.headersTimeout = 10_000
  server.requestTimeout = 30_000
  return server
}
