/**
 * One firehose client as the server holds it: its dialect, subscription and
 * rights, and how it is sent to. Sending owns backpressure: a client whose
 * unsent bytes pass half the limit is warned once (v1), and one past the
 * limit is closed (1008) and, if it does not answer the close, cut.
 */
import type { WebSocket } from 'ws'
import type { RoomName } from '../protocol/rooms.ts'
import { RateLimiter } from './firehose-protocol.ts'
import type { Filter, FirehoseErrorCode } from './firehose-protocol.ts'
import type { Logger } from '../p2p/logger.ts'

/** How long a slow client's close handshake may take before its connection is cut. */
const SLOW_CLOSE_GRACE_MS = 2000

export interface ClientLimits {
  /** Unsent bytes a client may have queued: a warning at half, closed (1008) beyond. */
  sendBufferBytes: number
  publishRate: number
  publishBurst: number
}

/** A client's filter, with the rooms it watches always spelled out. */
export type RoomFilter = Filter & { rooms: RoomName[] }

export class FirehoseClient {
  readonly ws: WebSocket
  version: 0 | 1
  /** The room it connected to (`?room=`): a v0 client's only room, a v1 client's when it names none. */
  readonly home: RoomName
  filter: RoomFilter
  mayPublish: boolean
  readonly limiter: RateLimiter
  /** Answered the last ping (dead clients are dropped at the next heartbeat). */
  alive = true
  #warned = false
  readonly #limits: ClientLimits
  readonly #log: Logger

  constructor (ws: WebSocket, init: { version: 0 | 1, home: RoomName, mayPublish: boolean, limits: ClientLimits, now: number, log: Logger }) {
    this.ws = ws
    this.version = init.version
    this.home = init.home
    this.filter = { rooms: [init.home] }
    this.mayPublish = init.mayPublish
    this.#limits = init.limits
    this.#log = init.log
    this.limiter = new RateLimiter(init.limits.publishRate, init.limits.publishBurst, init.now)
  }

  /** Sends one text frame, unless the client is too far behind (see the module comment). */
  send (text: string): void {
    const { ws } = this
    const limit = this.#limits.sendBufferBytes
    if (ws.readyState !== ws.OPEN) return
    if (ws.bufferedAmount > limit) {
      this.#log.warn(`firehose: closing a client too slow to keep up (${ws.bufferedAmount} bytes unsent)`)
      ws.close(1008, 'too slow: send buffer full')
      // The close frame waits behind everything unsent; a client that reads
      // nothing never answers it. Free its buffer soon either way.
      setTimeout(() => { ws.terminate() }, SLOW_CLOSE_GRACE_MS).unref()
      return
    }
    if (this.version === 1 && ws.bufferedAmount > limit / 2) {
      if (!this.#warned) {
        this.#warned = true
        ws.send(JSON.stringify({ type: 'warning', code: 'slow', message: `${ws.bufferedAmount} bytes are waiting to be sent to you; at ${limit} you are disconnected`, bufferedBytes: ws.bufferedAmount }))
      }
    } else if (ws.bufferedAmount < limit / 4) {
      this.#warned = false
    }
    ws.send(text)
  }

  /** An error in the client's dialect: v1 `{type:"error",…}`, v0 `{"error":{code,message}}`. The connection stays open. */
  sendError (code: FirehoseErrorCode, message: string, extra: Record<string, unknown> = {}): void {
    this.send(JSON.stringify(this.version === 1 ? { type: 'error', ...extra, code, message } : { error: { code, message } }))
  }
}
