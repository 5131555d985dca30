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
 */
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { timingSafeEqual } from 'node:crypto'
import { WebSocketServer } from 'ws'
import type { WebSocket } from 'ws'
import { speakersOf } from '../protocol/claims.ts'
import { parseJson, preparePayload } from '../protocol/codec.ts'
import type { Outgoing, TopicPayload } from '../protocol/codec.ts'
import { DEFAULT_ROOM, parseRoomName } from '../protocol/rooms.ts'
import type { RoomName } from '../protocol/rooms.ts'
import { MAX_PAYLOAD_BYTES, TOPICS, isTopic } from '../protocol/topics.ts'
import { FirehoseClient } from './firehose-client.ts'
import { firehoseSpeakers } from './firehose-speakers.ts'
import type { RoomFilter } from './firehose-client.ts'
import { FIREHOSE_VERSION, ReplayBuffer, eventFrame, matchesFilter, parseClientFrame, parseV0Frame, routingOf } from './firehose-protocol.ts'
import type { Filter, FirehoseEvent } from './firehose-protocol.ts'
import type { RoomSummary } from '../protocol/relay-api.ts'
import { SILENT } from '../p2p/logger.ts'
import type { Logger } from '../p2p/logger.ts'

export interface FirehoseLimits {
  /** Clients at once; the next one is closed with 1013 (try again later). */
  maxClients: number
  /** Largest client frame (bytes); a larger one closes the connection with 1009. */
  maxFrameBytes: number
  /** Publishes a client may make per second, and in a burst. */
  publishRate: number
  publishBurst: number
  /** Unsent bytes a client may have queued: a warning at half, closed (1008) beyond. */
  sendBufferBytes: number
  /** Events kept per topic for replay. */
  replayPerTopic: number
  /** WebSocket pings (dead clients dropped) and v1 heartbeat frames, this often. */
  heartbeatMs: number
}

export interface FirehoseAccess {
  /** Publishing needs this token (`?token=` or the hello's `token`). */
  publishToken?: string
  /** Nobody may publish. */
  readOnly: boolean
  /** Browser origins allowed to connect; empty: any. Clients without an Origin header always may. */
  allowedOrigins: string[]
}

/** The relay's rooms, as the firehose needs them (relay/rooms.ts). */
export interface FirehoseRooms {
  /** Carry a room a client watches or speaks in, or say why not. */
  want: (room: RoomName) => { ok: true } | { ok: false, message: string }
  release: (room: RoomName) => void
  list: () => RoomSummary[]
}

export interface FirehoseOptions {
  /** Publishes a checked payload in a room on the network. */
  publish: (room: RoomName, outgoing: Outgoing) => Promise<void>
  /** The peer presenting a companion id, asked from a room, if one does (a client may not speak as it). */
  holderOf?: (room: RoomName, id: string) => string | undefined
  rooms: FirehoseRooms
  limits?: Partial<FirehoseLimits>
  access?: Partial<FirehoseAccess>
  log?: Logger
  now?: () => number
}

/** What arrived from the network, for `broadcast`: the payload, its room, its JSON text, and the peer that wrote it. */
export type Arrival = TopicPayload & { room: RoomName, json: string, peer: string }

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
  const { publish, rooms, log = SILENT, now = Date.now } = options
  const speakers = firehoseSpeakers<FirehoseClient>(options.holderOf ?? (() => undefined))
  const server = new WebSocketServer({ noServer: true, maxPayload: limits.maxFrameBytes, clientTracking: true })
  const clients = new Map<WebSocket, FirehoseClient>()
  const replay = new ReplayBuffer(limits.replayPerTopic)
  let seq = 0

  const record = (arrival: Arrival): FirehoseEvent => {
    const event: FirehoseEvent = { seq: ++seq, time: now(), room: arrival.room, topic: arrival.topic, peer: arrival.peer, json: arrival.json, ...routingOf(arrival.payload) }
    replay.add(event)
    return event
  }

  const deliver = (event: FirehoseEvent, except?: FirehoseClient): void => {
    let envelope: string | undefined
    for (const client of clients.values()) {
      if (client === except) continue
      if (client.version === 0) {
        if (event.room === client.home) client.send(event.json)
      } else if (matchesFilter(client.filter, event)) client.send(envelope ??= eventFrame(event))
    }
  }

  const welcome = (client: FirehoseClient): void => {
    client.send(JSON.stringify({ type: 'welcome', version: FIREHOSE_VERSION, seq, mayPublish: client.mayPublish, limits: publicLimits() }))
  }

  const replayTo = (client: FirehoseClient, since: number): void => {
    const found = replay.since(since, client.filter)
    if (!found.ok) {
      client.sendError('too-old', `events after ${since} are no longer all kept: replay from ${found.oldest} or later, or start afresh`, { oldest: found.oldest })
      return
    }
    for (const event of found.events) client.send(eventFrame(event))
    client.send(JSON.stringify({ type: 'replayed', since, through: seq, count: found.events.length }))
  }

  /**
   * Gives a client a new filter, carrying the rooms it now watches and
   * releasing those it no longer does; if the relay cannot carry one of them,
   * the client keeps its old filter and is told why.
   */
  const setFilter = (client: FirehoseClient, filter: Filter): boolean => {
    const next: RoomFilter = { ...filter, rooms: filter.rooms ?? [client.home] }
    const added = next.rooms.filter(room => !client.filter.rooms.includes(room))
    const taken: RoomName[] = []
    for (const room of added) {
      const wanted = rooms.want(room)
      if (!wanted.ok) {
        for (const r of taken) rooms.release(r)
        client.sendError('too-many-rooms', `room ${room}: ${wanted.message}`)
        return false
      }
      taken.push(room)
    }
    for (const room of client.filter.rooms) if (!next.rooms.includes(room)) rooms.release(room)
    client.filter = next
    return true
  }

  const doPublish = (client: FirehoseClient, room: RoomName, topic: unknown, body: unknown, id?: string): void => {
    const ref = id === undefined ? {} : { id }
    if (!client.mayPublish) {
      client.sendError('unauthorized', access.readOnly ? 'this firehose is read-only' : 'publishing needs the firehose token (?token= or the hello\'s "token")', ref)
      return
    }
    if (!client.limiter.take(now())) {
      client.sendError('rate-limited', `at most ${limits.publishRate} publishes a second (bursts of ${limits.publishBurst}); this one was dropped`, ref)
      return
    }
    if (!isTopic(topic)) {
      client.sendError('unknown-topic', `unknown topic ${JSON.stringify(topic)}: use one of ${TOPICS.join(', ')}`, ref)
      return
    }
    if (body === undefined) {
      client.sendError('invalid', 'a publish needs a "body"', ref)
      return
    }
    // The client's own JSON is published (as aikyo's firehose does), not our
    // normalised form: peers see exactly what the client meant to say.
    const outgoing = preparePayload(topic, body)
    if (!outgoing.ok) {
      client.sendError(outgoing.code, outgoing.message, ref)
      return
    }
    // Nobody speaks as another: not as a companion present, not as a person another connection is.
    const ids = speakersOf(outgoing.checked.topic, outgoing.checked.payload)
    const forbidden = speakers.refusal(client, room, ids)
    if (forbidden !== undefined) {
      client.sendError('forbidden', forbidden, ref)
      return
    }
    // Speaking in a room the client does not watch: the relay must carry it.
    if (!client.filter.rooms.includes(room)) {
      const wanted = rooms.want(room)
      if (!wanted.ok) {
        client.sendError('too-many-rooms', `room ${room}: ${wanted.message}`, ref)
        return
      }
      rooms.release(room)
    }
    speakers.claim(client, ids)
    publish(room, outgoing).then(
      () => {
        const event = record({ ...outgoing.checked, room, json: outgoing.text, peer: 'firehose' })
        deliver(event, client)
        if (client.version === 1 && id !== undefined) client.send(JSON.stringify({ type: 'ack', id, seq: event.seq }))
      },
      (err: Error) => { client.sendError('internal', `could not publish: ${err.message}`, ref) }
    )
  }

  /** A frame from a client that speaks v0 (it may say hello and so switch to v1). */
  const onV0Frame = (client: FirehoseClient, value: unknown): boolean => {
    const parsed = parseV0Frame(value)
    if (!parsed.ok) client.sendError('invalid', parsed.message)
    else if ('frame' in parsed) doPublish(client, client.home, parsed.frame.topic, parsed.frame.body)
    else return false
    return true
  }

  const onV1Frame = (client: FirehoseClient, value: unknown): void => {
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
        if (frame.subscribe !== undefined && !setFilter(client, frame.subscribe)) break
        welcome(client)
        if (frame.since !== undefined) replayTo(client, frame.since)
        break
      case 'subscribe': {
        const { type: _type, ...filter } = frame
        if (setFilter(client, filter)) client.send(JSON.stringify({ type: 'subscribed', ...client.filter }))
        break
      }
      case 'publish': doPublish(client, frame.room ?? client.home, frame.topic, frame.body, frame.id); break
      case 'replay': replayTo(client, frame.since); break
      case 'ping': client.send(JSON.stringify({ type: 'pong', ...(frame.id === undefined ? {} : { id: frame.id }), seq, time: now() })); break
    }
  }

  const onFrame = (client: FirehoseClient, data: Buffer, isBinary: boolean): void => {
    if (isBinary) {
      client.sendError('invalid', 'send text frames holding one JSON object')
      return
    }
    const json = parseJson(data.toString('utf8'))
    if (!json.ok) {
      client.sendError('invalid', json.message)
      return
    }
    if (client.version === 0 && onV0Frame(client, json.value)) return
    onV1Frame(client, json.value)
  }

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
    clients.set(ws, client)
    ws.on('pong', () => { client.alive = true })
    ws.on('message', (data: Buffer, isBinary: boolean) => { onFrame(client, data, isBinary) })
    ws.on('close', () => {
      clients.delete(ws)
      speakers.release(client)
      for (const room of client.filter.rooms) rooms.release(room)
    })
    ws.on('error', (err: Error) => { log.warn(`firehose: client error: ${err.message}`) })
    if (client.version === 1) welcome(client)
  })

  // Pings find clients that vanished without a close (sleeping laptops, pulled
  // cables); v1 clients also get a heartbeat frame they can watch from a browser.
  const heartbeat = setInterval(() => {
    const beat = JSON.stringify({ type: 'heartbeat', seq, time: now() })
    for (const client of clients.values()) {
      if (!client.alive) {
        client.ws.terminate()
        continue
      }
      client.alive = false
      client.ws.ping()
      if (client.version === 1) client.send(beat)
    }
  }, limits.heartbeatMs)
  heartbeat.unref()

  const refuse = (socket: Duplex, status: string, why: string): void => {
    socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(why)}\r\nConnection: close\r\n\r\n${why}`)
  }

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
    broadcast: (arrival) => { deliver(record(arrival)) },
    forget: (room) => { replay.forget(room) },
    info: () => ({
      name: 'kotoba firehose',
      path: '/firehose',
      versions: [0, FIREHOSE_VERSION],
      topics: TOPICS,
      rooms: rooms.list(),
      seq,
      limits: publicLimits(),
      access: { publishToken: access.publishToken !== undefined, readOnly: access.readOnly, originAllowList: access.allowedOrigins.length > 0 },
      docs: 'docs/firehose.md'
    }),
    get clientCount () { return clients.size },
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
