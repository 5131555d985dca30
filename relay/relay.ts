/**
 * Starts a whole relay from checked options and returns a handle with its
 * real addresses and `close()`. Tests start relays through this, in-process
 * on port 0; `relay/main.ts` adds argv, printing and signals.
 */
import { once } from 'node:events'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import type { Multiaddr } from '@multiformats/multiaddr'
import { startGossipLinks } from '../p2p/gossip-links.ts'
import { consoleLogger } from '../p2p/logger.ts'
import type { Logger } from '../p2p/logger.ts'
import { startTopicBus } from '../p2p/topic-bus.ts'
import { carryPeerDiscovery } from './peer-discovery-topic.ts'
import type { Delivery, SealedDelivery } from '../p2p/topic-bus.ts'
import { TOPICS } from '../protocol/topics.ts'
import type { Topic } from '../protocol/topics.ts'
import type { LlmProxy } from './llm-proxy.ts'
import type { Firehose } from './firehose.ts'
import { startAikyoPeers } from './aikyo-peers.ts'
import { startAikyoStandIns } from './aikyo-stand-ins.ts'
import { createFirehose } from './firehose.ts'
import { startRelayRooms } from './rooms.ts'
import { startRelayDirectory } from './room-directory.ts'
import { openHistory } from './history.ts'
import { serveHistoryProtocol } from './history-protocol.ts'
import type { History } from './history.ts'
import { historyBytes } from './options.ts'
import { certificateNames } from './host-addresses.ts'
import { createHttpServer } from './http-server.ts'
import { openModelLibrary } from './model-files.ts'
import type { RelayInfo } from '../protocol/relay-api.ts'
import type { RoomName } from '../protocol/rooms.ts'
import { startLanPeers } from '../p2p/lan-peers.ts'
import { browserDialable, startNeighbours } from './neighbours.ts'
import { KEYED_BUDGET_PER_HOUR, LLM_LIMIT_DEFAULTS } from './llm-guard.ts'
import { LLM_PROXY_LIMITS, LLM_PROXY_PATH, createLlmProxy } from './llm-proxy.ts'
import { createRelayNode } from './libp2p-node.ts'
import type { RelayNode } from './libp2p-node.ts'
import type { RelayOptions } from './options.ts'
import { startOnDataDir } from '../host/data-dir.ts'
import { loadOrCreatePeerKey } from '../host/peer-key.ts'
import { startModelFetches } from './model-fetch.ts'

export interface RelayHandle {
  peerId: string
  node: RelayNode
  /** The HTTP port actually bound (differs from the option when that was 0). */
  httpPort: number
  /** Every libp2p listen address, with `/p2p/<id>`. */
  multiaddrs: () => Multiaddr[]
  /** Browser-dialable (WebSocket) multiaddrs, as `/api/relay` serves them (with `room`'s roster when asked). */
  relayInfo: (hostname?: string, room?: RoomName) => RelayInfo
  /** With `--tls`: the certificate's SHA-256, and whose it is. */
  tls?: { fingerprint: string, source: 'given' | 'kept' | 'made' }
  close: () => Promise<void>
}

export interface RelayDeps {
  /** Where its lines go (default: the terminal, at `info`). */
  log?: Logger
}

interface TopicCounters { received: number, refused: number, impersonations: number, fromFirehose: number }
type Counters = Record<Topic, TopicCounters>

/**
 * Starts a relay on its data dir, which it holds until `close()`: a second
 * relay on the same dir is refused (`DataDirInUseError`, host/data-dir.ts).
 */
export async function startRelay (options: RelayOptions, deps: RelayDeps = {}): Promise<RelayHandle> {
  return await startOnDataDir(options.dataDir, async () => await runRelay(options, deps))
}

async function runRelay (options: RelayOptions, deps: RelayDeps): Promise<RelayHandle> {
  const log = deps.log ?? consoleLogger(options.logLevel)
  const startedAt = Date.now()
  const privateKey = await loadOrCreatePeerKey(options.dataDir)
  // Its code (and the polyfill it needs) loads only with --tls.
  const tls = options.tls ? await (await import('./tls.ts')).relayCertificate({ dataDir: options.dataDir, certFile: options.tlsCert, keyFile: options.tlsKey, names: certificateNames(options.host) }, log) : undefined
  const node = await createRelayNode(options, privateKey, tls)
  // Each room's recent conversation, in the data dir (none with --history 0).
  const history: History | undefined = options.history === 0
    ? undefined
    : openHistory(join(options.dataDir, 'history.sqlite'), { lines: options.history, bytes: historyBytes(options.history), rooms: options.maxRooms * 4 }, { log })
  const counters = Object.fromEntries(TOPICS.map(topic => [topic, { received: 0, refused: 0, impersonations: 0, fromFirehose: 0 }])) as Counters
  const network = startRelayNetwork(node, options, log, counters)
  const firehose = startRelayFirehose(network, options, log, counters, history)
  // ...and over libp2p, for headless companions (they reach us over TCP, not HTTP).
  const stopHistoryProtocol = history === undefined ? undefined : await serveHistoryProtocol(node, history)
  const llm = options.llmUrl === undefined
    ? undefined
    : createLlmProxy({
      ...LLM_PROXY_LIMITS,
      url: options.llmUrl,
      key: options.llmKey,
      model: options.llmModel,
      timeoutMs: options.llmTimeoutMs,
      limits: {
        maxTokens: options.llmMaxTokens,
        ratePerMinute: options.llmRate,
        burst: LLM_LIMIT_DEFAULTS.burst,
        budgetPerHour: options.llmBudget ?? (options.llmKey === undefined || options.llmKey === '' ? 0 : KEYED_BUDGET_PER_HOUR)
      }
    })
  const relayInfo = (hostname?: string, room?: RoomName): RelayInfo => describeRelay(node, network, llm, hostname, room)
  const health = (): Record<string, unknown> => ({
    status: 'ok',
    peerId: node.peerId.toString(),
    uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    connections: node.getConnections().length,
    firehoseClients: firehose.clientCount,
    memory: { rssBytes: process.memoryUsage().rss, heapUsedBytes: process.memoryUsage().heapUsed },
    // Summed over the rooms; subscribers of the default room's topics.
    topics: Object.fromEntries(TOPICS.map(topic => [topic, { subscribers: node.services.pubsub.getSubscribers(topic).length, ...counters[topic] }])),
    rooms: { carried: network.rooms.listed(), private: network.rooms.list().length - network.rooms.listed().length, max: options.maxRooms, refused: network.rooms.refused, rostersSent: network.directory.rostersSent, twinsRefused: network.directory.twinsRefused },
    aikyo: { companions: [...network.aikyo.cards().values()].map(c => c.id), standIns: network.standIns.count, resultsPassedOn: network.aikyo.resultsPassedOn },
    llm: llm?.stats() ?? null
  })

  const models = options.models === undefined && options.ollamaModels === undefined
    ? undefined
    : openModelLibrary({ dir: options.models, ollama: options.ollamaModels }, { cacheFile: join(options.dataDir, 'models.json'), log })
  const fetches = models === undefined || options.models === undefined ? undefined : startModelFetches(options.models, options.fetchModels, { log, listed: models.add })
  const web = createHttpServer({ webRoot: options.webRoot, firehose, relayInfo, health, llm, history, ...(models === undefined ? {} : { models }), ...(tls === undefined ? {} : { tls }) })
  const http = web.server
  const stop = async (): Promise<void> => {
    fetches?.stop()
    await stopHistoryProtocol?.()
    await network.stop()
    await firehose.close()
    web.closeAllConnections()
    if (http.listening) await new Promise<void>(resolve => { http.close(() => { resolve() }) })
    await node.stop()
    history?.close()
  }
  http.listen(options.port, options.host)
  try {
    await once(http, 'listening')
  } catch (err) {
    await stop()
    throw err
  }

  let closing: Promise<void> | undefined
  return {
    peerId: node.peerId.toString(),
    node,
    httpPort: (http.address() as AddressInfo).port,
    ...(tls === undefined ? {} : { tls: { fingerprint: tls.fingerprint, source: tls.source } }),
    multiaddrs: () => node.getMultiaddrs(),
    relayInfo,
    close: async () => {
      closing ??= stop()
      await closing
    }
  }
}

/** What the relay runs on its libp2p node: every room's topics and directory, the rooms carried, links, neighbours, aikyo peers. */
interface RelayNetwork {
  directory: ReturnType<typeof startRelayDirectory>
  bus: ReturnType<typeof startTopicBus>
  rooms: ReturnType<typeof startRelayRooms>
  neighbours: ReturnType<typeof startNeighbours>
  aikyo: ReturnType<typeof startAikyoPeers>
  standIns: ReturnType<typeof startAikyoStandIns>
  /** The firehose forgets a room the relay left (set once the firehose is made). */
  forgetRoom: (room: RoomName) => void
  stop: () => Promise<void>
}

function startRelayNetwork (node: RelayNode, options: RelayOptions, log: Logger, counters: Counters): RelayNetwork {
  // Each room's directory: who is in it, and who holds which companion id.
  const directory = startRelayDirectory(node, { log })
  // Every room's topics, with the validators every node runs; nobody speaks as a companion another peer holds.
  const bus = startTopicBus(node, (refusal) => {
    if (refusal.code === 'impersonation') counters[refusal.topic].impersonations++
    else counters[refusal.topic].refused++
    log.warn(`refused in room ${refusal.room} on ${refusal.topic} from ${refusal.from}: ${refusal.code}: ${refusal.message}`)
  }, { claims: directory.claims })
  const gossipLinks = startGossipLinks(node, {
    onRepaired: (peer) => { log.info(`gossip with ${peer} died with a duplicate connection; opened again on the connection left`) },
    onBroken: (peer) => { log.info(`gossip with ${peer} died with a duplicate connection and could not be opened again; closing the rest so it reconnects`) }
  })
  const neighbours = startNeighbours(node)
  // Plain js-libp2p pages find each other through us as through any js-libp2p relay.
  const stopPeerDiscovery = carryPeerDiscovery(node.services.pubsub)
  // aikyo nodes connected to us: vouched for in the directory, query results passed on to them.
  const aikyo = startAikyoPeers(node, { directory, bus, log })
  // ...and they are told of our companions in the default room, one stand-in peer each.
  const standIns = startAikyoStandIns(directory, { log })
  aikyo.onPeers(standIns.setAikyoPeers)
  const network: RelayNetwork = {
    directory,
    bus,
    neighbours,
    aikyo,
    standIns,
    forgetRoom: () => {},
    rooms: startRelayRooms(node, bus, {
      maxRooms: options.maxRooms,
      isRelay: (id) => neighbours.list().some(n => n.peerId === id),
      log,
      onJoin: directory.join,
      onLeave: (room) => {
        directory.leave(room)
        network.forgetRoom(room)
      },
      companionsIn: directory.companions
    }),
    stop: async () => {
      lanPeers.stop()
      network.rooms.stop()
      aikyo.stop()
      await standIns.stop()
      directory.stop()
      neighbours.stop()
      gossipLinks.stop()
      stopPeerDiscovery()
      bus.stop()
    }
  }
  const lanPeers = startLanPeers(node, { bootstrap: options.bootstrap, log })
  return network
}

/** The firehose of every room the relay carries, fed by the network; everything said goes to the history too. */
function startRelayFirehose (network: RelayNetwork, options: RelayOptions, log: Logger, counters: Counters, history: History | undefined): Firehose {
  const { bus, directory, aikyo } = network
  const firehose = createFirehose({
    rooms: network.rooms,
    limits: { maxClients: options.maxFirehoseClients, publishRate: options.firehoseRate, publishBurst: options.firehoseRate * 2, replayPerTopic: options.firehoseReplay, sendBufferBytes: options.firehoseBufferBytes, heartbeatMs: options.firehoseHeartbeatMs },
    access: { publishToken: options.firehoseToken, readOnly: options.firehoseReadOnly, allowedOrigins: options.firehoseOrigins },
    log,
    // A companion's id is its own in every room: no firehose client speaks as it anywhere.
    holderOf: directory.holder,
    publish: async (room, outgoing) => {
      counters[outgoing.checked.topic].fromFirehose++
      await bus.publishPrepared(room, outgoing)
    }
  })
  network.forgetRoom = firehose.forget
  // Network to firehose (what the firehose published it delivers itself), and
  // everything said, by anyone, to the history.
  const pass = (delivery: Delivery | SealedDelivery): void => {
    history?.record(delivery.room, { ...delivery, json: delivery.text, peer: delivery.own ? 'firehose' : delivery.author ?? 'unknown' })
    if (delivery.own) return
    counters[delivery.topic].received++
    // Signed messages name their author; unsigned ones only the neighbour that passed them on.
    firehose.broadcast({ ...delivery, json: delivery.text, peer: delivery.author ?? 'unknown' })
  }
  bus.onPayload((delivery) => {
    aikyo.onDelivery(delivery)
    pass(delivery)
  })
  // A private room's payloads, sealed: kept and passed on as they are, never read.
  bus.onSealed(pass)
  return firehose
}

/** `/api/relay`: how a page reaches this relay (the host it used first), its neighbours, rooms, a room's roster, its model proxy. */
function describeRelay (node: RelayNode, network: RelayNetwork, llm: LlmProxy | undefined, hostname?: string, room?: RoomName): RelayInfo {
  const peerId = node.peerId.toString()
  const listed = browserDialable(node.getMultiaddrs(), peerId)
  const ws = listed.length === 0 ? undefined : /\/tcp\/(\d+)\/((?:tls\/)?ws)/.exec(listed[0])
  const first: string[] = []
  if (hostname !== undefined && ws != null) {
    const proto = hostname.includes(':') ? 'ip6' : /^[\d.]+$/.test(hostname) ? 'ip4' : 'dns'
    first.push(`/${proto}/${hostname}/tcp/${ws[1]}/${ws[2]}/p2p/${peerId}`)
  }
  return {
    peerId,
    multiaddrs: [...new Set([...first, ...listed])],
    neighbours: network.neighbours.list(),
    rooms: network.rooms.listed(),
    roster: room === undefined ? [] : network.directory.roster(room),
    firehose: '/firehose',
    llm: llm === undefined ? null : { path: LLM_PROXY_PATH.replace(/\/chat\/completions$/, ''), ...llm.info }
  }
}
