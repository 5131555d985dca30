/**
 * Which LAN peers the relay connects to, and how it stays connected:
 * peers found by mDNS are dialled (by one side only; aikyo's, which do not
 * dial a peer they knew before, by us whichever side we are), bootstrap
 * peers are dialled at start and re-dialled whenever lost.
 */
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p, PeerDiscovery, PeerInfo } from '@libp2p/interface'
import { roomOfAgent } from '../protocol/rooms.ts'
import { KOTOBA_AGENT } from '../protocol/topics.ts'
import { startHeldPeer } from './held-peer.ts'
import type { HeldPeer } from './held-peer.ts'
import { Lifetime } from './lifetime.ts'
import type { Logger } from './logger.ts'

export interface LanPeersOptions {
  /** Peers dialled at start and re-dialled whenever lost (multiaddrs with `/p2p/<id>`). */
  bootstrap: string[]
  log: Logger
  /**
   * Do not dial peers known (from an earlier identify) to be companion nodes of
   * ours: a companion links to a few companions of its room (direct-links.ts),
   * not to every one mDNS finds.
   */
  skipCompanions?: boolean
}

/**
 * Both sides of an mDNS pair discover each other at once; if both dialled,
 * they would hold two connections. The side with the smaller peer id dials.
 * (aikyo nodes dial everything they discover; they then dial us, which is fine.)
 */
export function shouldDial (self: string, other: string): boolean {
  return self < other
}

/**
 * The side with the larger peer id dials too if no connection came this
 * long after it found the peer: an aikyo node dials a peer only when it is
 * new to its peer store, so one that knew us before (we restarted, or the
 * connection was lost) never dials again, whichever id is smaller.
 */
export const UNDIALLED_GRACE_MS = 1000

export interface LanPeers {
  /** Stops dialling: no more mDNS dials, bootstrap peers no longer held (connections stay). */
  stop: () => void
}

/** Used by the relay and by the headless companion (`node.services.mdns` unless mDNS is off). */
export function startLanPeers (node: Libp2p<{ mdns?: PeerDiscovery }>, options: LanPeersOptions): LanPeers {
  const { log } = options
  const lifetime = new Lifetime()
  const { signal } = lifetime
  const discovery = node.services.mdns
  /** The agent a peer identified with, if we met it. */
  const agentOf = async (peer: PeerInfo['id']): Promise<string | undefined> => {
    try {
      const agent = (await node.peerStore.get(peer)).metadata.get('AgentVersion')
      return agent === undefined ? undefined : new TextDecoder().decode(agent)
    } catch {
      return undefined // never met
    }
  }
  const isKotoba = async (peer: PeerInfo['id']): Promise<boolean> => (await agentOf(peer))?.startsWith(KOTOBA_AGENT) === true
  const isCompanion = async (peer: PeerInfo['id']): Promise<boolean> => {
    const agent = await agentOf(peer)
    return agent?.startsWith(KOTOBA_AGENT) === true && roomOfAgent(agent) !== undefined
  }
  if (discovery != null) {
    // mDNS answers come in bursts: one dial per peer at a time.
    const dialing = new Set<string>()
    /** Peers found whose own dial we wait for (we have the larger id). */
    const waiting = new Set<string>()
    const onPeer = async (event: CustomEvent<PeerInfo>): Promise<void> => {
      const peer = event.detail
      const id = peer.id.toString()
      if (dialing.has(id) || node.getConnections(peer.id).length > 0) return
      if (!shouldDial(node.peerId.toString(), id)) {
        // A node of ours dials us itself; any other (aikyo's) may never again: dial it if it did not.
        if (waiting.has(id) || await isKotoba(peer.id)) return
        waiting.add(id)
        lifetime.later(UNDIALLED_GRACE_MS, () => {
          waiting.delete(id)
          if (node.getConnections(peer.id).length === 0) dial(peer, id)
        })
        return
      }
      if (options.skipCompanions === true && await isCompanion(peer.id)) return
      dial(peer, id)
    }
    const dial = (peer: PeerInfo, id: string): void => {
      if (dialing.has(id)) return // another answer for the same peer got here while we looked
      dialing.add(id)
      node.dial(peer.multiaddrs.length > 0 ? peer.multiaddrs : peer.id, { signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]) })
        .then(() => { log.info(`mdns: connected to ${id}`) })
        .catch((err: Error) => { if (!signal.aborted) log.warn(`mdns: could not dial ${id}: ${err.message}`) })
        .finally(() => { dialing.delete(id) })
    }
    const listener = (event: CustomEvent<PeerInfo>): void => { void onPeer(event) }
    discovery.addEventListener('peer', listener, { signal })
  }

  const held: HeldPeer[] = options.bootstrap.map(address => startHeldPeer(node, [multiaddr(address)], {
    minDelay: 1000,
    maxDelay: 30_000,
    onDialError: (err, attempt) => {
      // Log the first failure and then every tenth, not one line per second forever.
      if (attempt === 1 || attempt % 10 === 0) log.warn(`bootstrap: ${address} unreachable (attempt ${attempt}): ${err.message}`)
    }
  }))
  return {
    stop: () => {
      lifetime.stop()
      for (const h of held) h.stop()
    }
  }
}
