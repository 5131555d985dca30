/**
 * Which LAN peers the relay connects to, and how it stays connected:
 * peers found by mDNS are dialled (by one side only), bootstrap peers are
 * dialled at start and re-dialled whenever lost.
 */
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p, PeerDiscovery, PeerInfo } from '@libp2p/interface'
import { keepConnected } from './keep-connected.ts'

/**
 * Both sides of an mDNS pair discover each other at once; if both dialled,
 * they would hold two connections. The side with the smaller peer id dials.
 * (aikyo nodes dial everything they discover; they then dial us, which is fine.)
 */
export function shouldDial (self: string, other: string): boolean {
  return self < other
}

/** Used by the relay and by the headless companion (`node.services.mdns` unless mDNS is off). */
export function connectLanPeers (node: Libp2p<{ mdns?: PeerDiscovery }>, bootstrap: string[], signal: AbortSignal, log: (line: string) => void): void {
  const discovery = node.services.mdns
  if (discovery != null) {
    // mDNS answers come in bursts: one dial per peer at a time.
    const dialing = new Set<string>()
    const onPeer = (event: CustomEvent<PeerInfo>): void => {
      const peer = event.detail
      const id = peer.id.toString()
      if (!shouldDial(node.peerId.toString(), id)) return
      if (dialing.has(id) || node.getConnections(peer.id).length > 0) return
      dialing.add(id)
      node.dial(peer.multiaddrs.length > 0 ? peer.multiaddrs : peer.id, { signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]) })
        .then(() => { log(`mdns: connected to ${id}`) })
        .catch((err: Error) => { log(`mdns: could not dial ${id}: ${err.message}`) })
        .finally(() => { dialing.delete(id) })
    }
    discovery.addEventListener('peer', onPeer)
    signal.addEventListener('abort', () => { discovery.removeEventListener('peer', onPeer) }, { once: true })
  }

  for (const address of bootstrap) {
    keepConnected(node, [multiaddr(address)], {
      signal,
      minDelay: 1000,
      maxDelay: 30_000,
      onDialError: (err, attempt) => {
        // Log the first failure and then every tenth, not one line per second forever.
        if (attempt === 1 || attempt % 10 === 0) log(`bootstrap: ${address} unreachable (attempt ${attempt}): ${err.message}`)
      }
    })
  }
}
