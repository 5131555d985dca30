/**
 * Stand-ins: so that aikyo nodes hold the card of every companion of the
 * default room (docs/companions.md, "Sharing turns with aikyo"). aikyo
 * learns a card only from a peer it is connected to, one card per peer,
 * and reaches peers over TCP
 * only: it never learns the cards of tabs, nor of companions that reach the
 * LAN through this relay. Without them it elects other leaders than we do,
 * and picks other speakers from the same decision (docs/companions.md).
 *
 * For each such companion the relay runs a stand-in: a small libp2p node of
 * its own key (TCP, Noise, Yamux, identify; no GossipSub, no listening
 * address, so nobody else links to it) that dials every aikyo node connected
 * to the relay and serves that companion's card on `/aikyo/metadata/1.0.0`,
 * as aikyo asks after identify. When the companion leaves the room, its
 * stand-in stops: aikyo forgets the card as it forgets a peer that
 * disconnects; an edited card is served by a new stand-in (aikyo asks a
 * peer only once).
 *
 * At most MAX_STAND_INS companions are stood in for (the most recently
 * heard); beyond, aikyo does not know them (logged once).
 */
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { CompanionCard } from '../protocol/payloads.ts'
import { DEFAULT_ROOM } from '../protocol/rooms.ts'
import { KOTOBA_AGENT, METADATA_PROTOCOL } from '../protocol/topics.ts'
import type { RelayDirectory } from './room-directory.ts'
import type { Logger } from '../p2p/logger.ts'

/** Companions stood in for at most (each a small node with a connection to every aikyo node). */
export const MAX_STAND_INS = 64

interface StandIn {
  card: CompanionCard
  node: Promise<Libp2p>
  /** aikyo peers it dialled. */
  dialled: Set<string>
}

export interface AikyoStandIns {
  /** Companions stood in for now. */
  readonly count: number
  /** The aikyo nodes changed (peer id -> dialable addresses). */
  setAikyoPeers: (peers: ReadonlyMap<string, string[]>) => void
  stop: () => Promise<void>
}

async function startStandIn (card: CompanionCard): Promise<Libp2p> {
  const node = await createLibp2p({
    nodeInfo: { userAgent: `${KOTOBA_AGENT} stand-in` },
    addresses: { listen: [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() }
  })
  const bytes = new TextEncoder().encode(JSON.stringify(card))
  await node.handle(METADATA_PROTOCOL, async (stream) => {
    try {
      stream.send(bytes)
      await stream.close()
    } catch (err) {
      stream.abort(err as Error)
    }
  })
  return node
}

export function startAikyoStandIns (directory: Pick<RelayDirectory, 'companionsOf' | 'onMembers'>, options: { log: Logger }): AikyoStandIns {
  const { log } = options
  const standIns = new Map<string, StandIn>()
  let aikyoPeers: ReadonlyMap<string, string[]> = new Map()
  let warned = false
  let stopped = false

  const dialAll = (standIn: StandIn): void => {
    void standIn.node.then((node) => {
      for (const [peer, addrs] of aikyoPeers) {
        if (standIn.dialled.has(peer) || addrs.length === 0) continue
        standIn.dialled.add(peer)
        node.dial(addrs.map(a => multiaddr(a))).catch((err: Error) => {
          standIn.dialled.delete(peer)
          log.warn(`stand-in for ${standIn.card.id} could not reach aikyo node ${peer}: ${err.message}`)
        })
      }
    }, () => {})
  }
  const stopOne = (peer: string, standIn: StandIn): void => {
    standIns.delete(peer)
    void standIn.node.then(async node => { await node.stop() }, () => {})
  }

  const reconcile = (): void => {
    if (stopped) return
    // No aikyo node to tell: no stand-ins.
    const wanted = aikyoPeers.size === 0 ? [] : directory.companionsOf(DEFAULT_ROOM).filter(c => !c.aikyo)
    if (wanted.length > MAX_STAND_INS && !warned) {
      warned = true
      log.warn(`aikyo nodes are told of ${MAX_STAND_INS} of the ${wanted.length} companions of the room at most`)
    }
    const kept = new Map(wanted.slice(0, MAX_STAND_INS).map(c => [c.peer, c.card]))
    for (const [peer, standIn] of standIns) {
      const card = kept.get(peer)
      if (card === undefined || JSON.stringify(card) !== JSON.stringify(standIn.card)) stopOne(peer, standIn)
    }
    for (const [peer, card] of kept) {
      let standIn = standIns.get(peer)
      if (standIn === undefined) {
        const node = startStandIn(card)
        node.catch((err: Error) => { log.warn(`could not start a stand-in for ${card.id}: ${err.message}`) })
        standIn = { card, node, dialled: new Set() }
        standIns.set(peer, standIn)
      }
      dialAll(standIn)
    }
  }
  const unsubscribe = directory.onMembers((room) => { if (room === DEFAULT_ROOM) reconcile() })

  return {
    get count () { return standIns.size },
    setAikyoPeers: (peers) => {
      aikyoPeers = peers
      for (const standIn of standIns.values()) for (const peer of standIn.dialled) if (!peers.has(peer)) standIn.dialled.delete(peer)
      reconcile()
    },
    stop: async () => {
      stopped = true
      unsubscribe()
      await Promise.all([...standIns.values()].map(async s => { await (await s.node).stop() }))
      standIns.clear()
    }
  }
}
