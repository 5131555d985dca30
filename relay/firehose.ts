/**
 * `/firehose`: the plain-JSON WebSocket bridge for third-party programs,
 * aikyo-compatible. A client sends `{"topic", "body"}` to publish `body` on
 * that topic; it receives every payload published on the five topics, as
 * the JSON value itself. Bad input is answered with an error frame
 * `{"error":{"code","message"}}` and nothing is published; the connection
 * stays open, except for frames over `maxPayload`, which close it with 1009.
 *
 * The firehose knows nothing of libp2p: the relay hands it `publish` and
 * calls `broadcast` for what arrives from the network.
 */
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import type { WebSocket } from 'ws'
import { parseJson, validatePayload } from '../protocol/codec.ts'
import type { RefusalCode } from '../protocol/codec.ts'
import { MAX_PAYLOAD_BYTES, TOPICS, isTopic } from '../protocol/topics.ts'
import type { Topic } from '../protocol/topics.ts'

export type FirehoseErrorCode = RefusalCode | 'internal'

export interface FirehoseOptions {
  /** Publishes a validated payload (its JSON text) on the network. */
  publish: (topic: Topic, json: string) => Promise<void>
  /** Clients at once; the next one is closed with 1013 (try again later). */
  maxClients: number
  /** Largest client frame; a larger one closes the connection with 1009. */
  maxPayload?: number
  /**
   * A client whose unsent data exceeds this is too slow to keep up: it is
   * closed (1008) rather than let the relay's memory grow without bound.
   */
  maxBufferedBytes?: number
  /** Interval of the WebSocket pings that find dead clients. */
  heartbeatMs?: number
  log?: (line: string) => void
}

export interface Firehose {
  /** Completes a WebSocket upgrade for `/firehose`. */
  handleUpgrade: (request: IncomingMessage, socket: Duplex, head: Buffer) => void
  /** Sends one payload's JSON text to every client except `except`. */
  broadcast: (json: string, except?: WebSocket) => void
  readonly clientCount: number
  close: () => Promise<void>
}

/** Room for `{"topic":"query-results","body":…}` around the largest payload. */
const ENVELOPE_OVERHEAD = 1024

export function createFirehose (options: FirehoseOptions): Firehose {
  const {
    publish,
    maxClients,
    maxPayload = MAX_PAYLOAD_BYTES + ENVELOPE_OVERHEAD,
    maxBufferedBytes = 8 * 1024 * 1024,
    heartbeatMs = 30_000,
    log = () => {}
  } = options
  const server = new WebSocketServer({ noServer: true, maxPayload, clientTracking: true })
  const alive = new WeakSet<WebSocket>()

  const sendError = (ws: WebSocket, code: FirehoseErrorCode, message: string): void => {
    ws.send(JSON.stringify({ error: { code, message } }))
  }

  const onFrame = (ws: WebSocket, data: Buffer, isBinary: boolean): void => {
    if (isBinary) {
      sendError(ws, 'invalid', 'send text frames holding one JSON object: {"topic": …, "body": …}')
      return
    }
    const json = parseJson(data.toString('utf8'))
    if (!json.ok) {
      sendError(ws, 'invalid', json.message)
      return
    }
    const frame = json.value
    if (typeof frame !== 'object' || frame === null || Array.isArray(frame) || !('topic' in frame) || !('body' in frame)) {
      sendError(ws, 'invalid', 'expected an object {"topic": …, "body": …}')
      return
    }
    const { topic, body } = frame as { topic: unknown, body: unknown }
    if (!isTopic(topic)) {
      sendError(ws, 'unknown-topic', `unknown topic ${JSON.stringify(topic)}: use one of ${TOPICS.join(', ')}`)
      return
    }
    const checked = validatePayload(topic, body)
    if (!checked.ok) {
      sendError(ws, checked.code, checked.message)
      return
    }
    // Publish the client's own JSON (as aikyo's firehose does), not our
    // normalised form: peers see exactly what the client meant to say.
    const payload = JSON.stringify(body)
    publish(topic, payload).then(
      () => { broadcast(payload, ws) },
      (err: Error) => { sendError(ws, 'internal', `could not publish: ${err.message}`) }
    )
  }

  const broadcast = (json: string, except?: WebSocket): void => {
    for (const client of server.clients) {
      if (client === except || client.readyState !== client.OPEN) continue
      if (client.bufferedAmount > maxBufferedBytes) {
        log(`firehose: closing a client too slow to keep up (${client.bufferedAmount} bytes unsent)`)
        client.close(1008, 'too slow: send buffer full')
        continue
      }
      client.send(json)
    }
  }

  server.on('connection', (ws: WebSocket) => {
    alive.add(ws)
    ws.on('pong', () => { alive.add(ws) })
    ws.on('message', (data: Buffer, isBinary: boolean) => { onFrame(ws, data, isBinary) })
    ws.on('error', (err: Error) => { log(`firehose: client error: ${err.message}`) })
  })

  // Pings find clients that vanished without a close (sleeping laptops, pulled cables).
  const heartbeat = setInterval(() => {
    for (const ws of server.clients) {
      if (!alive.has(ws)) {
        ws.terminate()
        continue
      }
      alive.delete(ws)
      ws.ping()
    }
  }, heartbeatMs)
  heartbeat.unref()

  return {
    handleUpgrade (request, socket, head) {
      server.handleUpgrade(request, socket, head, (ws) => {
        if (server.clients.size > maxClients) {
          ws.close(1013, 'too many firehose clients; try again later')
          return
        }
        server.emit('connection', ws, request)
      })
    },
    broadcast,
    get clientCount () { return server.clients.size },
    async close () {
      clearInterval(heartbeat)
      for (const ws of server.clients) ws.close(1001, 'relay shutting down')
      // Give clients a moment to answer the close handshake, then cut the rest.
      const closed = new Promise<void>(resolve => { server.close(() => { resolve() }) })
      await Promise.race([closed, new Promise(resolve => setTimeout(resolve, 1000).unref())])
      for (const ws of server.clients) ws.terminate()
      await closed
    }
  }
}
