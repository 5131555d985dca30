/**
 * Runs the tab's node and keeps `NetworkState` true to it: finds the relay
 * that served the page, stays connected and reserved on it, dials other tabs
 * directly over WebRTC, validates and records what arrives on the topics.
 */
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Connection } from '@libp2p/interface'
import { startRoomPeer } from '../p2p/room-peer.ts'
import type { RoomPeer } from '../p2p/room-peer.ts'
import { hasDirectConnection, startHeldPeer } from '../p2p/held-peer.ts'
import type { HeldPeer } from '../p2p/held-peer.ts'
import { Lifetime } from '../p2p/lifetime.ts'
import { createLogger } from '../p2p/logger.ts'
import type { RoomKey } from '../protocol/private-rooms.ts'
import type { RoomName } from '../protocol/rooms.ts'
import { parseRelayInfo } from '../protocol/relay-api.ts'
import type { RelayInfo, RelayLlm } from '../protocol/relay-api.ts'
import { connectionKind } from './connection-kind.ts'
import { relayInfoUrlFor } from './settings.ts'
import { MARKS } from './marks.ts'
import { createCompanionNode } from './libp2p-node.ts'
import type { CompanionNode, CompanionNodeOptions } from './libp2p-node.ts'
import type { NetworkState } from './network-state.ts'
import { backoffDelay } from '../protocol/backoff.ts'

export interface CompanionNetworkOptions {
  room: RoomName
  /** Direct links held at most (`?max-links=`; default 8). */
  maxLinks?: number
  /** Where the relay says how to reach it (same origin as the page). */
  relayInfoUrl: string
  /** Its answer, asked already (`readRelayInfo` of `relayInfoUrlFor`): the page asks first thing. */
  relayInfo?: Promise<RelayInfo>
  iceServers: RTCIceServer[]
  privateKey?: CompanionNodeOptions['privateKey']
  /** A private room's key. */
  key?: RoomKey
}

/** The room's topics (every payload is also recorded in the page's log), the node, and its relay. */
export interface CompanionNetwork {
  node: CompanionNode
  /** The room: its channel (what is said there), its directory, the direct links. */
  joined: RoomPeer
  /** The relay that served the page, and the model proxy it offers (null: none). The tab may since have moved to another relay (`NetworkState.relayPeerId`). */
  relay: { peerId: string, llm: RelayLlm | null }
  /** Settled once the tab first reaches a relay (what can wait for the dial waits for this). */
  relayReached: Promise<void>
  /**
   * Settled once the tab reached its relay and linked directly to a tab of its room, or
   * there was nobody to link to (the relay named nobody), or LINKING_GRACE_MS after the
   * relay was reached: what can wait for the first links (the view, the companion's code)
   * waits for this, so it does not hold the main thread while they are made.
   */
  linked: Promise<void>
  stop: () => Promise<void>
}

/** How often the network panel's round trips are measured (ms). */
const RTT_INTERVAL_MS = 5000

/** Connected to the relay but without a reservation this long: reconnect to get one (ms). */
const UNRESERVED_RECONNECT_MS = 5000

/** How often the page asks the relay that served it which other relays it knows (ms). */
const NEIGHBOURS_INTERVAL_MS = 10_000
/** How long after reaching the relay what waits for the first links waits at most. */
const LINKING_GRACE_MS = 1500

/** The relay a circuit address of ours goes through (`…/p2p/<relay>/p2p-circuit/…`), if it is one. */
function relayOf (address: Multiaddr): string | undefined {
  const components = address.getComponents()
  const circuit = components.findIndex(c => c.name === 'p2p-circuit')
  return circuit > 0 && components[circuit - 1].name === 'p2p' ? components[circuit - 1].value : undefined
}

/**
 * Reads `/api/relay` once: the relay's answer, checked, or why it is not
 * usable. `answer`: the request already under way (web/boot.ts asks first thing).
 */
export async function readRelayInfo (url: string, options: { signal?: AbortSignal, answer?: Promise<Response> } = {}): Promise<RelayInfo> {
  const response = await (options.answer ?? fetch(url, { signal: options.signal, cache: 'no-store' }))
  if (!response.ok) throw new Error(`${url} answered ${response.status}`)
  const parsed = parseRelayInfo(await response.json())
  if (!parsed.ok) throw new Error(`${url} did not answer like a kotoba relay (${parsed.message})`)
  return parsed.info
}

/**
 * Reads `/api/relay` until it answers (the relay may be restarting), telling
 * `onError` why each try failed. `first` is a first try already under way
 * (the page asks before anything else).
 */
async function fetchRelayInfo (url: string, signal: AbortSignal, onError: (message: string) => void, first?: Promise<RelayInfo>): Promise<RelayInfo> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await (attempt === 0 && first !== undefined ? first : readRelayInfo(url, { signal }))
    } catch (err) {
      if (signal.aborted) throw err
      onError((err as Error).message)
      await new Promise(resolve => setTimeout(resolve, backoffDelay(attempt + 1, { first: 250, max: 5000 })))
    }
  }
}

export async function startCompanionNetwork (state: NetworkState, options: CompanionNetworkOptions): Promise<CompanionNetwork> {
  const lifetime = new Lifetime()
  const { signal } = lifetime

  state.relayStatus = 'starting'
  // The node is made while the relay's address is on its way: neither waits for the other.
  const making = createCompanionNode({ room: options.room, iceServers: options.iceServers, privateKey: options.privateKey })
  let info: RelayInfo
  try {
    // Asked with the room: the answer names its members, to link to once connected.
    // Unreachable (down, or this page opened from its service worker's copy): say the relay is away, and keep asking.
    info = await fetchRelayInfo(relayInfoUrlFor(options.relayInfoUrl, options.room), signal, (message) => {
      state.relayStatus = 'offline'
      state.relayError = `the relay cannot be reached (${message}); trying again`
    }, options.relayInfo)
  } catch (err) {
    void making.then(async node => { await node.stop() }, () => {})
    throw err
  }
  performance.mark(MARKS.relayInfo)
  state.relayError = ''
  state.relayPeerId = info.peerId

  // The relay that served the page first, then every other relay it has told
  // us about (kept even when it has died: its neighbours are where we go).
  const relays = new Map<string, Multiaddr[]>([[info.peerId, info.multiaddrs.map(a => multiaddr(a))]])
  const learnNeighbours = (latest: RelayInfo): void => {
    for (const n of latest.neighbours) {
      try {
        relays.set(n.peerId, n.multiaddrs.map(a => multiaddr(a)))
      } catch { /* an address this browser cannot parse: skip that relay */ }
    }
    state.knownRelays = [...relays.keys()]
    state.rooms = latest.rooms
  }
  learnNeighbours(info)

  const node = await making
  performance.mark(MARKS.nodeMade)
  state.peerId = node.peerId.toString()
  state.iceServers = options.iceServers.flatMap(s => Array.isArray(s.urls) ? s.urls : [s.urls])
  // In the room, and linked directly to a few of its companions.
  const joined = startRoomPeer(node, {
    room: options.room,
    ...(options.key === undefined ? {} : { key: options.key }),
    onRefused: (refusal) => { if (refusal.code === 'unreadable') state.unreadable++; else state.refused++ },
    ...(options.maxLinks === undefined ? {} : { maxLinks: options.maxLinks }),
    // Why a link closed, in the console's verbose level.
    log: createLogger((line) => { console.debug(`kotoba: ${line}`) }, 'debug')
  })
  joined.channel.onPayload((delivery) => { state.record(delivery.topic, delivery.text, delivery.own) })
  showConnections(node, state, lifetime)
  const reached = Promise.withResolvers<void>()
  const linked = Promise.withResolvers<void>()
  void reached.promise.then(() => {
    if (info.roster.length === 0) linked.resolve()
    else lifetime.later(LINKING_GRACE_MS, linked.resolve)
  })
  node.addEventListener('connection:open', ({ detail }) => { if (connectionKind(detail.remoteAddr, detail.limits != null) === 'webrtc') linked.resolve() }, { signal })
  const held = holdRelay(node, state, { info, relays: () => [...relays.values()], joined, lifetime, onReached: reached.resolve })
  lifetime.every(NEIGHBOURS_INTERVAL_MS, () => {
    readRelayInfo(options.relayInfoUrl, { signal: AbortSignal.any([signal, AbortSignal.timeout(5000)]) })
      .then(learnNeighbours, () => { /* the relay that served the page is gone: keep what it told us */ })
  })

  return {
    node,
    relay: { peerId: info.peerId, llm: info.llm },
    relayReached: reached.promise,
    linked: linked.promise,
    joined,
    stop: async () => {
      lifetime.stop()
      held.stop()
      await joined.stop()
      await node.stop()
    }
  }
}

/** The network panel's connections, with their kinds and round trips. */
function showConnections (node: CompanionNode, state: NetworkState, lifetime: Lifetime): void {
  const { signal } = lifetime
  let sawWebRTC = false
  const refreshPeers = (): void => {
    state.peers = node.getConnections()
      .filter(c => c.status === 'open')
      .map(c => ({
        id: c.id,
        peerId: c.remotePeer.toString(),
        kind: connectionKind(c.remoteAddr, c.limits != null),
        remoteAddr: c.remoteAddr.toString(),
        direction: c.direction
      }))
    if (!sawWebRTC && state.peers.some(p => p.kind === 'webrtc')) {
      sawWebRTC = true
      performance.mark(MARKS.firstWebRTC)
    }
  }
  node.addEventListener('connection:open', refreshPeers, { signal })
  node.addEventListener('connection:close', refreshPeers, { signal })

  // Round trips for the network panel: one ping per connected peer, every few seconds.
  // Only over a connection that may carry it: pinging a peer reached only through
  // a relay (a limited connection) would make libp2p dial it afresh, racing the
  // WebRTC link that direct links dial (two links set up at once, one thrown away).
  const ping = (peer: Connection['remotePeer']): void => {
    const id = peer.toString()
    node.services.ping.ping(peer, { signal: AbortSignal.any([signal, AbortSignal.timeout(RTT_INTERVAL_MS)]) })
      .then((ms) => { state.rtt = { ...state.rtt, [id]: Math.round(ms) } }, () => {
        if (!(id in state.rtt)) return
        const { [id]: _gone, ...rest } = state.rtt
        state.rtt = rest
      })
  }
  lifetime.every(RTT_INTERVAL_MS, () => {
    const peers = new Map(node.getConnections().filter(c => c.status === 'open' && c.limits == null).map(c => [c.remotePeer.toString(), c.remotePeer]))
    for (const peer of peers.values()) ping(peer)
  })
  node.addEventListener('peer:identify', (event) => { if (event.detail.connection.limits == null) ping(event.detail.peerId) }, { signal })
}

/**
 * The relay: held connected (or another relay it named, when it dies), and
 * reserved on; the panel's relay status follows. Once connected, the room's
 * members the relay named are dialled through it at once.
 */
function holdRelay (node: CompanionNode, state: NetworkState, context: { info: RelayInfo, relays: () => Multiaddr[][], joined: RoomPeer, lifetime: Lifetime, onReached: () => void }): HeldPeer {
  const { info, joined, lifetime } = context
  const { signal } = lifetime
  let held: HeldPeer | undefined
  const heldId = (): string => held?.current() ?? info.peerId
  // libp2p reserves on whichever connected relay it finds: when the held
  // relay dies, that may be another relay the tab was already connected to
  // (it dials relays to reach tabs behind them). The relay in use is the one
  // we are reserved on, else the one held.
  const reservedOn = (): string | undefined => node.getMultiaddrs()
    .map(relayOf)
    .find(id => id !== undefined && hasDirectConnection(node, id))
  let introduced = false
  const refreshRelay = (): void => {
    const reserved = reservedOn()
    state.relayPeerId = reserved ?? heldId()
    const connected = reserved !== undefined || hasDirectConnection(node, heldId())
    const next = !connected ? (state.relayStatus === 'starting' ? 'connecting' : 'offline') : reserved !== undefined ? 'reserved' : 'connected'
    if (next === state.relayStatus) return
    if (next === 'connected' || (next === 'reserved' && state.relayStatus !== 'connected')) {
      performance.mark(MARKS.relayConnected)
      context.onReached()
      // The room's members the relay named: dialled now, through it, not after the directory's roster.
      if (!introduced) joined.directory.introduce(info.roster)
      introduced = true
    }
    if (next === 'reserved') performance.mark(MARKS.relayReserved)
    if (next === 'reserved' || next === 'connected') state.relayError = ''
    state.relayStatus = next
  }
  node.addEventListener('peer:connect', refreshRelay, { signal })
  node.addEventListener('peer:disconnect', refreshRelay, { signal })
  node.addEventListener('self:peer:update', refreshRelay, { signal })
  // A reservation re-made after a relay restart changes our addresses
  // without a self:peer:update; the circuit listener reports it here.
  node.addEventListener('transport:listening', refreshRelay, { signal })
  node.addEventListener('transport:close', refreshRelay, { signal })
  // Watchdog: whatever events libp2p does or does not emit, the status is
  // re-read from the node itself every second.
  // libp2p reserves on a relay when a connection to it opens; after a relay
  // restart or a move that event may not come (js-libp2p issue 3601).
  // Connected but reserved nowhere for a while, the tab closes its connection
  // to the held relay, which is then dialled afresh, which reserves.
  let unreservedSince: number | undefined
  lifetime.every(1000, () => {
    refreshRelay()
    if (state.relayStatus !== 'connected') {
      unreservedSince = undefined
      return
    }
    unreservedSince ??= Date.now()
    if (Date.now() - unreservedSince < UNRESERVED_RECONNECT_MS) return
    unreservedSince = undefined
    for (const c of node.getConnections().filter(c => c.remotePeer.toString() === heldId() && c.limits == null)) {
      void c.close().catch(() => { c.abort(new Error('reconnecting to make a reservation')) })
    }
  })
  refreshRelay()

  held = startHeldPeer(node, context.relays, {
    onDialError: (err) => {
      state.relayError = err.message
      refreshRelay()
    },
    onSwitch: refreshRelay
  })
  return held
}
