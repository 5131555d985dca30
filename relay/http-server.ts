/**
 * The relay's one HTTP port: the built page, `/api/relay` (how a page finds
 * the relay it was served by), a room's history (`/api/rooms/NAME/history`),
 * the model files (`/api/models`, `/models/NAME`), `/healthz`, the `/api/llm`
 * proxy, and the `/firehose` upgrade. libp2p's WebSocket listener owns a
 * server of its own on another port.
 *
 * With `--tls` the port speaks TLS (https, wss) and plain http on it is
 * sent to https: the first byte of a connection tells a TLS handshake from
 * a plain request, as libp2p's own WebSocket listener does.
 *
 * An answer to a browser whose companions think with a model in the tab
 * (its request carries THREADS_COOKIE, protocol/relay-api.ts), at a
 * trustworthy origin (localhost, or any address over https), says the page
 * is cross-origin isolated (COOP same-origin, COEP require-corp): the model
 * runs multi-threaded WebAssembly, which needs it; everything the page loads
 * is its own. Other pages are not isolated: isolation gives a page a process
 * of its own, which a new tab waits for. Browsers ignore COOP on other
 * origins (a LAN address over plain http), and say so in the console, so it
 * is not sent there.
 */
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { createServer as createNetServer } from 'node:net'
import type { Server as NetServer, Socket } from 'node:net'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import sirv from 'sirv'
import type { Firehose } from './firehose.ts'
import { LLM_PROXY_PATH } from './llm-proxy.ts'
import type { LlmProxy } from './llm-proxy.ts'
import { asksForThreads } from '../protocol/relay-api.ts'
import type { RelayInfo } from '../protocol/relay-api.ts'
import { parseRoomName } from '../protocol/rooms.ts'
import type { RoomName } from '../protocol/rooms.ts'
import type { ModelLibrary } from './model-files.ts'
import type { History } from './history.ts'

/** Entries in one history answer, unless `limit` asks for fewer. */
export const HISTORY_PAGE_DEFAULT = 500
export const HISTORY_PAGE_MAX = 1000

export interface HttpServerOptions {
  webRoot: string
  firehose: Firehose
  /** Multiaddrs for a page that reached us as `hostname` (from its Host header), and the roster of `room` if it asks. */
  relayInfo: (hostname: string | undefined, room?: RoomName) => RelayInfo
  health: () => Record<string, unknown>
  /** The model proxy, when `--llm-url` is set. */
  llm?: LlmProxy
  /** The rooms' history, unless `--history 0`. */
  history?: History
  /** The model files, with `--models DIR`. */
  models?: ModelLibrary
  /** Serve on TLS with this certificate (PEM). */
  tls?: { cert: string, key: string }
}

/** The relay's HTTP port: listen on `server`; `closeAllConnections` ends the requests and upgrades it holds. */
export interface RelayHttpServer {
  server: Server | NetServer
  closeAllConnections: () => void
}

/** Cross-origin isolation for the page of a browser that runs a model in the tab (see the module comment). */
export const ISOLATION_HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp'
} as const

function sendJson (res: ServerResponse, status: number, body: unknown): void {
  sendJsonText(res, status, JSON.stringify(body))
}

function sendJsonText (res: ServerResponse, status: number, text: string): void {
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

/** Whether a page reached us at a potentially trustworthy origin: localhost, 127.0.0.0/8, ::1. */
export function isLoopbackHost (hostname: string | undefined): boolean {
  if (hostname === undefined) return false
  return hostname === 'localhost' || hostname.endsWith('.localhost') || hostname === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
}

export function createHttpServer (options: HttpServerOptions): RelayHttpServer {
  const { webRoot, firehose, relayInfo, health, llm, history, models } = options
  const isolated = (req: IncomingMessage): boolean => asksForThreads(req.headers.cookie) && (options.tls !== undefined || isLoopbackHost(requestHostname(req)))

  /** `GET /api/rooms/NAME/history?since=SEQ&limit=N`: the room's entries after SEQ, oldest first, paged. */
  const serveHistory = (res: ServerResponse, name: string, query: URLSearchParams): void => {
    const refuse = (message: string): void => { sendJson(res, 400, { error: { code: 'invalid', message } }) }
    let decoded: string
    try { decoded = decodeURIComponent(name) } catch { decoded = name }
    const room = parseRoomName(decoded)
    if (!room.ok) return refuse(room.message)
    const whole = (key: string, fallback: number, max: number): number | string => {
      const raw = query.get(key)
      if (raw === null) return fallback
      return /^\d{1,15}$/.test(raw) && Number(raw) <= max ? Number(raw) : `${key} must be a whole number from 0 to ${max}, got ${JSON.stringify(raw.slice(0, 40))}`
    }
    const since = whole('since', 0, Number.MAX_SAFE_INTEGER)
    const limit = whole('limit', HISTORY_PAGE_DEFAULT, HISTORY_PAGE_MAX)
    if (typeof since === 'string') return refuse(since)
    if (typeof limit === 'string') return refuse(limit)
    if (history === undefined) return sendJson(res, 404, { error: { code: 'no-history', message: 'this relay keeps no history (--history 0)' } })
    sendJson(res, 200, history.page(room.room, since, Math.max(1, limit)))
  }
  const pageBuilt = existsSync(join(webRoot, 'index.html'))
  // sirv indexes the folder once at start: a page rebuilt later needs a relay restart.
  // The build's assets are named by their content's hash: a browser keeps them without asking
  // again (a reload's scripts come from its cache, not after a round trip to a busy relay).
  // The page itself (index.html, sw.js) is asked for each time (its ETag answers "unchanged").
  const serveStatic = pageBuilt
    ? sirv(webRoot, {
      etag: true,
      dev: false,
      setHeaders: (res, pathname) => { if (pathname.startsWith('/assets/')) res.setHeader('cache-control', 'public, max-age=31536000, immutable') }
    })
    : undefined

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (isolated(req)) for (const [name, value] of Object.entries(ISOLATION_HEADERS)) res.setHeader(name, value)
    const [path, search = ''] = (req.url ?? '/').split('?', 2)
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
      const asked = new URLSearchParams(search).get('room')
      const room = asked === null ? undefined : parseRoomName(asked)
      if (room !== undefined && !room.ok) return sendJson(res, 400, { error: { code: 'invalid', message: room.message } })
      sendJson(res, 200, relayInfo(requestHostname(req), room?.room))
      return
    }
    const rooms = /^\/api\/rooms\/([^/]*)\/history$/.exec(path)
    if (rooms !== null) {
      serveHistory(res, rooms[1], new URLSearchParams(search))
      return
    }
    if (path === '/api/models') {
      sendJson(res, 200, { models: models?.list() ?? [] })
      return
    }
    if (path.startsWith('/models/')) {
      if (models?.serve(path.slice('/models/'.length), req, res) !== true) sendJson(res, 404, { error: { code: 'no-model', message: `no model ${path.slice('/models/'.length).slice(0, 100)} here: see /api/models` } })
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
  }

  const upgrade = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    const path = (req.url ?? '/').split('?')[0]
    if (path !== '/firehose') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n')
      return
    }
    firehose.handleUpgrade(req, socket, head)
  }
  const bounded = <S extends Server>(server: S): S => {
    // Slow or idle clients must not hold sockets forever.
    server.headersTimeout = 10_000
    server.requestTimeout = 30_000
    return server
  }

  if (options.tls === undefined) {
    const server = bounded(createServer(handle))
    server.on('upgrade', upgrade)
    return { server, closeAllConnections: () => { server.closeAllConnections() } }
  }
  const secure = bounded(createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handle))
  secure.on('upgrade', upgrade)
  secure.on('tlsClientError', (_err, socket) => { socket.destroy() })
  return tlsFront(secure, bounded)
}

/**
 * The TLS port's front: a connection whose first byte starts a TLS
 * handshake (22, a handshake record) goes to `secure`; a plain request (a
 * letter) is sent to the same place on https.
 *
 * The two servers behind it never listen themselves, and Node checks an
 * http server's connections (its headers and request timeouts) only from its
 * 'listening' event: they are told when the front listens. Closing ends
 * every socket the front took, mid-handshake, kept alive or upgraded (their
 * own `closeAllConnections` saw none of them: a browser polling over a
 * kept-alive connection held a stopping relay open for good).
 */
function tlsFront (secure: Server, bounded: (server: Server) => Server): RelayHttpServer {
  const toHttps = (req: IncomingMessage): string => `https://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`
  const plain = bounded(createServer((req, res) => {
    res.writeHead(308, { location: toHttps(req), 'content-type': 'text/plain' }).end(`This relay speaks https: ${toHttps(req)}\n`)
  }))
  plain.on('upgrade', (req, socket) => { socket.end(`HTTP/1.1 308 Permanent Redirect\r\nLocation: ${toHttps(req).replace(/^https/, 'wss')}\r\nConnection: close\r\n\r\n`) })
  const sockets = new Set<Socket>()
  const front = createNetServer((socket) => {
    sockets.add(socket)
    socket.once('close', () => { sockets.delete(socket) })
    socket.setTimeout(10_000, () => { socket.destroy() })
    socket.once('readable', () => {
      const first = socket.read(1) as Buffer | null
      if (first === null) { socket.destroy(); return }
      socket.setTimeout(0)
      socket.unshift(first)
      ;(first[0] === 22 ? secure : plain).emit('connection', socket)
    })
  })
  front.on('listening', () => {
    secure.emit('listening')
    plain.emit('listening')
  })
  // Their connection checks stop with the front (they were never listening: the callback is told so).
  front.on('close', () => {
    secure.close(() => {})
    plain.close(() => {})
  })
  return {
    server: front,
    closeAllConnections: () => { for (const socket of sockets) socket.destroy() }
  }
}
