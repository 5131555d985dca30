/**
 * `/firehose`: the plain-JSON WebSocket bridge for third-party programs.
 *
 * Each connection is in a room (`?room=NAME`, else the default room): a v0
 * client reads and speaks in that room only, a v1 client may watch several
 * and name the room of each publish; every v1 event says its room.
 *
 * Two dialects on one endpoint (docs/firehose.md):
 * - v0, the default, aikyo-compatible: a client sends `{"topic","body"}` to
 *   publish `body`; it receives every payload as the JSON value itself; bad
 *   input gets `{"error":{"code","message"}}`.
 * - v1, opted into with `?v=1` or a `{"type":"hello","version":1}` frame:
 *   every frame is typed; events come in an envelope (relay-wide `seq`,
 *   `time`, `topic`, sending `peer`, `payload`); live subscriptions; publish
 *   acknowledgements with ids; replay from a `seq` out of a bounded buffer;
 *   JSON ping/pong and heartbeats; warnings before a slow client is dropped.
 *
 * Limits for everyone: frame size (1009 closes), clients (1013), publishes
 * per second, and unsent bytes per client (1008 closes, after a warning).
 * Access: an optional publish token, read-only mode, an Origin allow-list.
 * The firehose knows nothing of libp2p: the relay hands it `publish` and
 * calls `broadcast` for what arrives from the network.
 *
 * This file holds the endpoint: connections, frames, heartbeats, limits.
 * What a client may publish is firehose-publish.ts, who gets which event
 * firehose-subscriptions.ts, numbering and replay firehose-replay.ts.
 */
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { timingSafeEqual } from 'node:crypto'
import { WebSocketServer } from 'ws'
import type { WebSocket } from 'ws'
import { parseJson } from '../protocol/codec.ts'
import type { Outgoing } from '../protocol/codec.ts'
import type { SealedOutgoing } from '../protocol/private-rooms.ts'
import { DEFAULT_ROOM, parseRoomName } from '../protocol/rooms.ts'
import type { RoomName } from '../protocol/rooms.ts'
import { MAX_PAYLOAD_BYTES, TOPICS } from '../protocol/topics.ts'
import { FirehoseClient } from './firehose-client.ts'
import { FIREHOSE_VERSION, parseClientFrame, parseV0Frame } from './firehose-protocol.ts'
import type { FirehoseAccess, FirehoseLimits, FirehoseRooms } from './firehose-protocol.ts'
import { publishFrom } from './firehose-publish.ts'
import type { PublishPath } from './firehose-publish.ts'
import { EventLog } from './firehose-replay.ts'
import type { Arrival } from './firehose-replay.ts'
import { firehoseSpeakers } from './firehose-speakers.ts'
import { Subscriptions } from './firehose-subscriptions.ts'
import { SILENT } from '../p2p/logger.ts'
import type { Logger } from '../p2p/logger.ts'
import { Lifetime } from '../p2p/lifetime.ts'

export interface FirehoseOptions {
  /** Publishes a checked payload (a private room's sealed) in a room on the network. */
  publish: (room: RoomName, outgoing: Outgoing | SealedOutgoing) => Promise<void>
  /** The peer presenting a companion id, asked from a room, if one does (a client may not speak as it). */
  holderOf?: (room: RoomName, id: string) => string | undefined
  rooms: FirehoseRooms
  limits?: Partial<FirehoseLimits>
  access?: Partial<FirehoseAccess>
  log?: Logger
  now?: () => number
}

export interface Firehose {
  /** Completes a WebSocket upgrade for `/firehose` (or refuses it). */
  handleUpgrade: (request: IncomingMessage, socket: Duplex, head: Buffer) => void
  /** Numbers a payload from the network and sends it to every client that wants it. */
  broadcast: (arrival: Arrival) => void
  /** Drops the replay kept of a room the relay no longer carries. */
  forget: (room: RoomName) => void
  /** The information document (`/firehose/info`). */
  info: () => Record<string, unknown>
  readonly clientCount: number
  close: () => Promise<void>
}

/** Room for a publish frame around the largest payload. */
const ENVELOPE_OVERHEAD = 1024

export const FIREHOSE_DEFAULTS: FirehoseLimits = {
  maxClients: 1024,
  maxFrameBytes: MAX_PAYLOAD_BYTES + ENVELOPE_OVERHEAD,
  publishRate: 20,
  publishBurst: 40,
  sendBufferBytes: 8 * 1024 * 1024,
  replayPerTopic: 1000,
  heartbeatMs: 30_000
}

const sameSecret = (given: string, expected: string): boolean => {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

export function createFirehose (options: FirehoseOptions): Firehose {
  const limits: FirehoseLimits = { ...FIREHOSE_DEFAULTS, ...options.limits }
  const access: FirehoseAccess = { readOnly: false, allowedOrigins: [], ...options.access }
  const { rooms, log = SILENT, now = Date.now } = options
  const server = new WebSocketServer({ noServer: true, maxPayload: limits.maxFrameBytes, clientTracking: true })
  const subscriptions = new Subscriptions(rooms)
  const events = new EventLog(limits.replayPerTopic, now)
  const speakers = firehoseSpeakers<FirehoseClient>(options.holderOf ?? (() => undefined))
  const path: PublishPath = { publish: options.publish, rooms, speakers, limits, access, events, subscriptions, now }
  const publicLimits = (): Record<string, number> => ({
    maxFrameBytes: limits.maxFrameBytes,
    maxPayloadBytes: MAX_PAYLOAD_BYTES,
    publishRate: limits.publishRate,
    publishBurst: limits.publishBurst,
    sendBufferBytes: limits.sendBufferBytes,
    replayPerTopic: limits.replayPerTopic,
    heartbeatSeconds: limits.heartbeatMs / 1000,
    maxClients: limits.maxClients
  })
  const welcome = (client: FirehoseClient): void => {
    client.send(JSON.stringify({ type: 'welcome', version: FIREHOSE_VERSION, seq: events.seq, mayPublish: client.mayPublish, limits: publicLimits() }))
  }
  const frames = { path, subscriptions, events, access, welcome, now }

  server.on('connection', (ws: WebSocket, request: IncomingMessage, home: RoomName) => {
    const params = new URL(request.url ?? '/', 'http://relay').searchParams
    const token = params.get('token')
    const client = new FirehoseClient(ws, {
      version: params.get('v') === String(FIREHOSE_VERSION) ? 1 : 0,
      home,
      mayPublish: !access.readOnly && (access.publishToken === undefined || (token !== null && sameSecret(token, access.publishToken))),
      limits,
      now: now(),
      log
    })
    subscriptions.add(client)
    ws.on('pong', () => { client.alive = true })
    ws.on('message', (data: Buffer, isBinary: boolean) => { onFrame(frames, client, data, isBinary) })
    ws.on('close', () => {
      subscriptions.remove(client)
      speakers.release(client)
    })
    ws.on('error', (err: Error) => { log.warn(`firehose: client error: ${err.message}`) })
    if (client.version === 1) welcome(client)
  })

  // Pings find clients that vanished without a close (sleeping laptops, pulled
  // cables); v1 clients also get a heartbeat frame they can watch from a browser.
  const lifetime = new Lifetime()
  lifetime.every(limits.heartbeatMs, () => {
    const beat = JSON.stringify({ type: 'heartbeat', seq: events.seq, time: now() })
    for (const client of subscriptions.clients()) {
      if (!client.alive) {
        client.ws.terminate()
        continue
      }
      client.alive = false
      client.ws.ping()
      if (client.version === 1) client.send(beat)
    }
  })

  return {
    handleUpgrade (request, socket, head) {
      const origin = request.headers.origin
      if (origin !== undefined && access.allowedOrigins.length > 0 && !access.allowedOrigins.includes(origin)) {
        refuse(socket, '403 Forbidden', `origin ${origin} may not use this firehose\n`)
        return
      }
      const asked = new URL(request.url ?? '/', 'http://relay').searchParams.get('room')
      const home = parseRoomName(asked ?? DEFAULT_ROOM)
      if (!home.ok) {
        refuse(socket, '400 Bad Request', `?room=: ${home.message}\n`)
        return
      }
      server.handleUpgrade(request, socket, head, (ws) => {
        if (server.clients.size > limits.maxClients) {
          ws.close(1013, 'too many firehose clients; try again later')
          return
        }
        const wanted = rooms.want(home.room)
        if (!wanted.ok) {
          ws.close(1013, `room ${home.room}: ${wanted.message}`.slice(0, 120))
          return
        }
        server.emit('connection', ws, request, home.room)
      })
    },
    broadcast: (arrival) => { subscriptions.deliver(events.record(arrival)) },
    forget: (room) => { events.forget(room) },
    info: () => ({
      name: 'kotoba firehose',
      path: '/firehose',
      versions: [0, FIREHOSE_VERSION],
      topics: TOPICS,
      rooms: rooms.listed(),
      seq: events.seq,
      limits: publicLimits(),
      access: { publishToken: access.publishToken !== undefined, readOnly: access.readOnly, originAllowList: access.allowedOrigins.length > 0 },
      docs: 'docs/firehose.md'
    }),
    get clientCount () { return subscriptions.size },
    async close () {
      lifetime.stop()
      for (const ws of server.clients) ws.close(1001, 'relay shutting down')
      // Give clients a moment to answer the close handshake, then cut the rest.
      const closed = new Promise<void>(resolve => { server.close(() => { resolve() }) })
      await Promise.race([closed, new Promise(resolve => setTimeout(resolve, 1000).unref())])
      for (const ws of server.clients) ws.terminate()
      await closed
    }
  }
}

function refuse (socket: Duplex, status: string, why: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(why)}\r\nConnection: close\r\n\r\n${why}`)
}

/** What a client's frames act on. */
interface FrameContext {
  path: PublishPath
  subscriptions: Subscriptions
  events: EventLog
  access: FirehoseAccess
  welcome: (client: FirehoseClient) => void
  now: () => number
}

function onFrame (context: FrameContext, client: FirehoseClient, data: Buffer, isBinary: boolean): void {
  if (isBinary) {
    client.sendError('invalid', 'send text frames holding one JSON object')
    return
  }
  const json = parseJson(data.toString('utf8'))
  if (!json.ok) {
    client.sendError('invalid', json.message)
    return
  }
  if (client.version === 0 && onV0Frame(context, client, json.value)) return
  onV1Frame(context, client, json.value)
}

/** A frame from a client that speaks v0 (it may say hello and so switch to v1). */
function onV0Frame (context: FrameContext, client: FirehoseClient, value: unknown): boolean {
  const parsed = parseV0Frame(value)
  if (!parsed.ok) client.sendError('invalid', parsed.message)
  else if ('frame' in parsed) publishFrom(context.path, client, client.home, parsed.frame.topic, parsed.frame.body)
  else return false
  return true
}

function onV1Frame (context: FrameContext, client: FirehoseClient, value: unknown): void {
  const { access, subscriptions, events } = context
  const parsed = parseClientFrame(value)
  if (!parsed.ok) {
    client.version = 1
    const id = typeof value === 'object' && value !== null && 'id' in value && typeof value.id === 'string' ? { id: value.id } : {}
    client.sendError('invalid', parsed.message, id)
    return
  }
  const frame = parsed.frame
  switch (frame.type) {
    case 'hello':
      client.version = 1
      if (frame.token !== undefined && access.publishToken !== undefined && !access.readOnly) client.mayPublish ||= sameSecret(frame.token, access.publishToken)
      if (frame.subscribe !== undefined && !subscriptions.setFilter(client, frame.subscribe)) break
      context.welcome(client)
      if (frame.since !== undefined) events.replayTo(client, frame.since)
      break
    case 'subscribe': {
      const { type: _type, ...filter } = frame
      if (subscriptions.setFilter(client, filter)) client.send(JSON.stringify({ type: 'subscribed', ...client.filter }))
      break
    }
    case 'publish': publishFrom(context.path, client, frame.room ?? client.home, frame.topic, frame.body, frame.id); break
    case 'replay': events.replayTo(client, frame.since); break
    case 'ping': client.send(JSON.stringify({ type: 'pong', ...(frame.id === undefined ? {} : { id: frame.id }), seq: events.seq, time: context.now() })); break
  }
}
