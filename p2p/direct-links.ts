/**
 * Direct links between companions of a room, at most `maxLinks` of them
 * (8 by default) however many companions the LAN holds: lines still reach
 * every companion of the room, through the relay's GossipSub; the links make
 * them faster between neighbours.
 *
 * Whom to dial comes from the room's directory (p2p/room-directory.ts): a
 * newcomer gets a relay's roster and dials at once; a peer heard announcing
 * itself is dialled only if no link to it came after a while (the newcomer
 * usually dials first), the smaller peer id sooner. Tab to tab and tab to
 * headless companion, that is the `/p2p-circuit/webrtc` address: the relay's
 * hop carries the WebRTC signalling, and the media path is direct. Between
 * two headless companions (both Node, both listening on TCP) it is plain
 * TCP, WebRTC only when that fails.
 *
 * A node dials only while it holds fewer than three quarters of its bound
 * (at least one less), so every node keeps room for newcomers to link to
 * it: in a room bigger than the bound, a late joiner still finds peers that
 * take its link. A node over its bound closes a new link (the other side
 * then leaves it alone for a while), and closes links to companions of other rooms (a
 * headless companion dials every LAN peer mDNS finds). It also cleans up the
 * duplicate and dead links a reloaded page leaves behind.
 */
import type { GossipSub } from '@libp2p/gossipsub'
import type { Connection, IdentifyResult, Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { roomOfAgent } from '../protocol/rooms.ts'
import type { RoomName } from '../protocol/rooms.ts'
import { KOTOBA_AGENT } from '../protocol/topics.ts'
import { gossipStreamsOn } from './gossip.ts'
import { Lifetime } from './lifetime.ts'
import type { Logger } from './logger.ts'
import type { RoomDirectory } from './room-directory.ts'
import { backoffDelay } from '../protocol/backoff.ts'

/** Direct links a node holds at most, unless told otherwise. */
export const DEFAULT_MAX_LINKS = 8
/** A peer heard announcing itself is dialled if still unlinked this long after (smaller peer id; the larger waits twice as long). */
export const ANNOUNCED_DIAL_DELAY_MS = 2000
/** A peer whose dial failed is not dialled again for this long, doubling per failure up to RETRY_MAX_MS. */
const RETRY_MIN_MS = 1000
const RETRY_MAX_MS = 30_000
/** A node below its bound looks for peers of the room to link to this often (and one over it closes links). */
const FILL_INTERVAL_MS = 10_000
/** After a link is identified, the time for a duplicate connection to be settled before the bound is enforced again. */
const TRIM_DELAY_MS = 4000
/** A link we dialled that the other side closed this soon: it is full; leave it alone for LINK_BACKOFF_MS. */
const SHORT_LINK_MS = 5000
const LINK_BACKOFF_MS = 60_000

export interface DirectLinksOptions {
  room: RoomName
  directory: RoomDirectory
  /** Direct links held at most (default DEFAULT_MAX_LINKS). */
  maxLinks?: number
  /**
   * This node dials TCP (Node, not a page): a peer's announced TCP addresses
   * are tried before its WebRTC ones. TCP needs no signalling through the
   * relay, and WebRTC between two Node peers needs a non-loopback interface.
   */
  tcp?: boolean
  /** Where a link closed for a reason is told (debug). */
  log?: Logger
}

export interface DirectLinks {
  /** Peers we hold a direct link to now. */
  linked: () => string[]
  /** Stops linking: no more dials, trims or probes; the links already made stay. */
  stop: () => void
}

const isWebRTC = (ma: Multiaddr): boolean => ma.getComponents().some(c => c.name === 'webrtc')
/** A plain TCP listen address: not relayed, not WebSocket, not WebRTC. */
const isTcp = (ma: Multiaddr): boolean => {
  const names = ma.getComponents().map(c => c.name)
  return names.includes('tcp') && !names.some(n => n === 'p2p-circuit' || n === 'ws' || n === 'wss' || n === 'webrtc' || n === 'webrtc-direct')
}
const isWebRTCConnection = (c: Connection): boolean => c.limits == null && isWebRTC(c.remoteAddr)
/** Open and not relayed: WebRTC, or TCP between two Node peers. */
const isDirect = (c: Connection): boolean => c.status === 'open' && c.limits == null
const closeWithReason = (links: Links, c: Connection, why: string): void => {
  links.options.log?.debug(`direct links: closing the connection to ${c.remotePeer.toString()} (${c.remoteAddr.toString()}): ${why}`)
  void c.close().catch(() => { c.abort(new Error(why)) })
}

/**
 * Asked for on a link to see whether its far end answers. Nobody serves it:
 * "not supported" is the answer, one multistream-select round trip (as
 * libp2p's connection monitor takes it). Not ping: ping allows one outbound
 * stream a connection, which the connection monitor's own pings (and the
 * page's round trips) hold now and then, and a probe refused for that closed
 * live links.
 */
const PROBE_PROTOCOL = '/kotoba/link-probe/1.0.0'

/** Whether the far end still answers on this connection (a protocol negotiation, within 3 s). */
async function probe (connection: Connection): Promise<boolean> {
  try {
    const stream = await connection.newStream(PROBE_PROTOCOL, { signal: AbortSignal.timeout(3000) })
    stream.abort(new Error('probe done'))
    return true
  } catch (err) {
    return (err as Error).name === 'UnsupportedProtocolError'
  }
}

/** What the parts of the direct links share: the node, its lifetime, and who is linked. */
interface Links {
  node: Libp2p<{ pubsub: GossipSub }>
  lifetime: Lifetime
  options: DirectLinksOptions
  maxLinks: number
  selfId: string
  /** Peers identify says are companion nodes of ours (any room). */
  companions: Set<string>
  /** Peers not to dial before then (ms since the epoch). */
  notBefore: Map<string, number>
  linked: () => string[]
  hasDirect: (peerId: string) => boolean
  /**
   * Whether a link's far end still answers (one probe per link at a time,
   * asked again once when it does not: a busy page can miss one); one that
   * does not, left by a page that reloaded, is aborted with `why`.
   */
  stillAlive: (link: Connection, why: string) => Promise<boolean>
}

/** Dialling peers of the room. */
interface Dialling {
  dial: (peerId: string, addrs: Multiaddr[]) => void
  /** Dials peers of the room we are not linked to, while there is room. */
  fill: () => void
  /** `fill`, soon. */
  fillSoon: () => void
  /** Whether a peer can be dialled directly at one of these addresses. */
  dialable: (addrs: Multiaddr[]) => boolean
}

export function startDirectLinks (node: Libp2p<{ pubsub: GossipSub }>, options: DirectLinksOptions): DirectLinks {
  const { directory } = options
  const lifetime = new Lifetime()
  const companions = new Set<string>()
  /** A peer is linked when a direct connection joins us to it and it is a companion (or reached over WebRTC, which only companions do). */
  const linked = (): string[] => {
    const peers = new Set<string>()
    for (const c of node.getConnections()) {
      if (!isDirect(c)) continue
      const id = c.remotePeer.toString()
      if (companions.has(id) || directory.has(id) || isWebRTCConnection(c)) peers.add(id)
    }
    return [...peers]
  }
  const hasDirect = (peerId: string): boolean => node.getConnections().some(c => c.remotePeer.toString() === peerId && isDirect(c))
  const probing = new Map<string, Promise<boolean>>()
  const stillAlive = async (link: Connection, why: string): Promise<boolean> => {
    let asked = probing.get(link.id)
    if (asked === undefined) {
      asked = probe(link).then(async alive => alive || await probe(link)).then((alive) => {
        if (!alive && !lifetime.stopped && link.status === 'open') {
          options.log?.debug(`direct links: aborting the connection to ${link.remotePeer.toString()}: ${why}`)
          link.abort(new Error(why))
        }
        return alive
      }).finally(() => { probing.delete(link.id) })
      probing.set(link.id, asked)
    }
    return await asked
  }
  const links: Links = {
    node,
    lifetime,
    options,
    maxLinks: options.maxLinks ?? DEFAULT_MAX_LINKS,
    selfId: node.peerId.toString(),
    companions,
    notBefore: new Map(),
    linked,
    hasDirect,
    stillAlive
  }
  const dialling = startDialling(links)
  lifetime.every(FILL_INTERVAL_MS, () => { trimToBound(links); dialling.fill() })
  dialHeardPeers(links, dialling)
  closeLinksOutsideTheBound(links)
  backOffFromFullPeers(links, dialling)
  settleDuplicates(links)
  return { linked, stop: () => { lifetime.stop() } }
}

/** Dialling: one dial per peer at a time, within the bound less room for newcomers, failed peers retried later and later. */
function startDialling (links: Links): Dialling {
  const { node, lifetime, options, selfId, notBefore, hasDirect } = links
  const { directory } = options
  const dialing = new Set<string>()
  const failures = new Map<string, number>()
  const directAddrs = (announced: Multiaddr[]): Multiaddr[] =>
    [...(options.tcp === true ? announced.filter(isTcp) : []), ...announced.filter(isWebRTC)]
  // Links we dial ourselves stop here; the rest of the bound is for newcomers that dial us.
  const dialLimit = Math.max(1, links.maxLinks - Math.ceil(links.maxLinks / 4))
  const room = (): boolean => links.linked().length + dialing.size < dialLimit

  let fillPending = false
  const fillSoon = (): void => {
    if (fillPending) return
    fillPending = true
    lifetime.later(RETRY_MIN_MS, () => { fillPending = false; fill() })
  }
  const dial = (peerId: string, addrs: Multiaddr[]): void => {
    if (lifetime.stopped || peerId === selfId || dialing.has(peerId) || hasDirect(peerId) || !room()) return
    if ((notBefore.get(peerId) ?? 0) > Date.now()) return
    const direct = directAddrs(addrs)
    if (direct.length === 0) return
    dialing.add(peerId)
    node.dial(direct, { signal: AbortSignal.any([lifetime.signal, AbortSignal.timeout(10_000)]) })
      .then(() => { failures.delete(peerId) }, () => {
        // Unreachable for now (a busy machine, a link still being set up on the other side):
        // not again for a while, doubling per failure; meanwhile the others of the room.
        const failed = (failures.get(peerId) ?? 0) + 1
        failures.set(peerId, failed)
        notBefore.set(peerId, Date.now() + backoffDelay(failed, { first: RETRY_MIN_MS, max: RETRY_MAX_MS }))
        fillSoon()
      })
      .finally(() => { dialing.delete(peerId) })
  }

  /**
   * Dials peers of the room we are not linked to, in random order, while we
   * have room: after a roster, when a dial failed or was refused (the peer was
   * full), when a link closed, and every FILL_INTERVAL_MS. A peer heard
   * announcing itself is not dialled from here at once (the newcomer dials).
   */
  const fill = (): void => {
    const candidates = directory.peers().filter(p => p !== selfId && !hasDirect(p) && !dialing.has(p) &&
      (notBefore.get(p) ?? 0) <= Date.now() && directAddrs(directory.addrsOf(p)).length > 0)
    for (let i = candidates.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1))
      ;[candidates[i], candidates[j]] = [candidates[j], candidates[i]]
    }
    for (const peerId of candidates) {
      if (!room()) break
      dial(peerId, directory.addrsOf(peerId))
    }
  }
  return { dial, fill, fillSoon, dialable: (addrs) => directAddrs(addrs).length > 0 }
}

/**
 * The directory's peers: those a roster names are dialled at once (as soon
 * as they can be); one heard announcing itself only if no link to it came a
 * while later (the newcomer usually dials first), the smaller peer id sooner.
 */
function dialHeardPeers (links: Links, { dial, dialable: canDial }: Dialling): void {
  const { lifetime, selfId, hasDirect } = links
  const pending = new Set<string>()
  /** Peers a roster named before they could be dialled (they had no reservation yet): dialled as soon as they can be. */
  const awaited = new Set<string>()
  const unsubscribe = links.options.directory.onPeer(({ peerId, addrs, via }) => {
    const dialable = canDial(addrs)
    if (via === 'roster' || (awaited.has(peerId) && dialable)) {
      if (dialable) awaited.delete(peerId)
      else awaited.add(peerId)
      dial(peerId, addrs)
      return
    }
    if (pending.has(peerId)) return
    // A peer that announces itself while we hold a WebRTC link to it may have
    // reloaded: that link then died with the old page (Chromium notices only
    // after ICE consent fails, ~30 s), and as long as it looks open neither
    // side dials. Ask it; one that does not answer is closed and we dial.
    if (hasDirect(peerId)) {
      for (const link of links.node.getConnections().filter(c => c.remotePeer.toString() === peerId && isWebRTCConnection(c))) {
        void links.stillAlive(link, 'no answer after the peer announced itself again: the link was left by a previous page')
          .then((alive) => { if (!alive && !lifetime.stopped) dial(peerId, addrs) })
      }
      return
    }
    pending.add(peerId)
    lifetime.later(selfId < peerId ? ANNOUNCED_DIAL_DELAY_MS : 2 * ANNOUNCED_DIAL_DELAY_MS, () => {
      pending.delete(peerId)
      dial(peerId, addrs)
    })
  })
  lifetime.signal.addEventListener('abort', unsubscribe, { once: true })
}

/**
 * Over the bound (links that came at once, two dials crossing, a peer
 * whose identify came late): the newest links go, so the bound holds
 * whatever the order of events.
 */
function trimToBound (links: Links): void {
  const { node, maxLinks, linked } = links
  const peers = linked()
  if (peers.length <= maxLinks) return
  const directTo = (id: string): Connection[] => node.getConnections().filter(c => c.remotePeer.toString() === id && isDirect(c))
  const newest = (id: string): number => Math.max(...directTo(id).map(c => c.timeline.open))
  for (const id of peers.sort((a, b) => newest(b) - newest(a)).slice(0, peers.length - maxLinks)) {
    for (const c of directTo(id)) closeWithReason(links, c, 'over the bound of direct links')
  }
}

/** A companion of another room is no link of ours; one link too many (they dialled us while we were full) is closed. */
function closeLinksOutsideTheBound (links: Links): void {
  const { node, lifetime, maxLinks } = links
  node.addEventListener('peer:identify', (event: CustomEvent<IdentifyResult>) => {
    const { peerId, agentVersion, connection } = event.detail
    if (agentVersion?.startsWith(KOTOBA_AGENT) !== true) return
    const theirRoom = roomOfAgent(agentVersion)
    if (theirRoom === undefined) return // a relay
    links.companions.add(peerId.toString())
    if (!isDirect(connection)) return
    if (theirRoom !== links.options.room) closeWithReason(links, connection, 'a companion of another room')
    // A peer we already held a link to (a reload, two dials at once) is no new link: the duplicate check decides.
    else if (links.linked().length > maxLinks && node.getConnections(peerId).filter(isDirect).length === 1) closeWithReason(links, connection, 'this companion holds as many direct links as it may')
    // Whatever came meanwhile, the bound holds once the duplicates are settled.
    lifetime.later(TRIM_DELAY_MS, () => { trimToBound(links) })
  }, { signal: lifetime.signal })
}

/** A link we dialled that the other side closed at once: it is full; leave it alone for a while. A link gone: another may take its place. */
function backOffFromFullPeers (links: Links, { fillSoon }: Dialling): void {
  const { node, lifetime } = links
  const openedAt = new Map<string, number>()
  node.addEventListener('connection:open', (event: CustomEvent<Connection>) => {
    if (event.detail.direction === 'outbound' && isDirect(event.detail)) openedAt.set(event.detail.id, Date.now())
  }, { signal: lifetime.signal })
  node.addEventListener('connection:close', (event: CustomEvent<Connection>) => {
    const c = event.detail
    const opened = openedAt.get(c.id)
    openedAt.delete(c.id)
    if (opened !== undefined && Date.now() - opened < SHORT_LINK_MS && !links.hasDirect(c.remotePeer.toString())) {
      links.notBefore.set(c.remotePeer.toString(), Date.now() + LINK_BACKOFF_MS)
    }
    if (c.limits == null) fillSoon()
  }, { signal: lifetime.signal })
}

/**
 * A reloaded tab has the same peer id. When a peer opens a new connection
 * while we still hold a WebRTC connection to it, that one may have died
 * with the old page (Chromium notices only after ICE consent fails, ~30 s):
 * probe it, and close it if it does not answer. If both are alive and
 * direct, the two tabs dialled each other at once, and one goes, the same
 * one on both sides (both see the same streams): the one carrying fewer of
 * GossipSub's streams, so the link that carries gossip stays; if they carry
 * as many, the one the larger peer id dialled. (Gossip that dies with a
 * closed connection anyway is opened again on the one left: gossip-links.ts.)
 */
function settleDuplicates (links: Links): void {
  const { node, lifetime, selfId } = links
  const dialler = (c: Connection): string => c.direction === 'outbound' ? selfId : c.remotePeer.toString()
  node.addEventListener('connection:open', (event: CustomEvent<Connection>) => {
    const fresh = event.detail
    for (const older of node.getConnections(fresh.remotePeer)) {
      if (older.id === fresh.id || !isWebRTCConnection(older)) continue
      void links.stillAlive(older, 'no answer after the peer reconnected: the connection was left by a previous page').then((alive) => {
        if (!alive || lifetime.stopped || older.status !== 'open') return
        if (!isWebRTCConnection(fresh) || fresh.status !== 'open') return
        const gossip = { fresh: gossipStreamsOn(node.services.pubsub, fresh), older: gossipStreamsOn(node.services.pubsub, older) }
        const surplus = gossip.fresh !== gossip.older
          ? (gossip.fresh < gossip.older ? fresh : older)
          : dialler(fresh) === dialler(older) || dialler(fresh) > dialler(older) ? fresh : older
        closeWithReason(links, surplus, 'duplicate connection')
      })
    }
  }, { signal: lifetime.signal })
}
