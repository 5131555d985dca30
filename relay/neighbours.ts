/**
 * The other relays this relay is connected to (its LAN neighbours), with the
 * WebSocket addresses a browser can dial. `/api/relay` lists them so that a
 * page whose relay dies can move to one of them.
 *
 * A neighbour is a peer that, by identify, runs the circuit-relay-v2 hop
 * protocol and listens on WebSockets: headless companions, aikyo nodes and
 * tabs do neither.
 */
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2'
import type { IdentifyResult, Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { PeerAddresses } from '../protocol/relay-api.ts'
import { Lifetime } from '../p2p/lifetime.ts'

/** A neighbour: its dialable WebSocket multiaddrs, ending in `/p2p/<id>`, LAN addresses before loopback ones. */
export type Neighbour = PeerAddresses

export interface Neighbours {
  list: () => Neighbour[]
  stop: () => void
}

const isLoopback = (ma: Multiaddr): boolean => {
  const ip = ma.getComponents().find(c => c.name === 'ip4' || c.name === 'ip6')?.value ?? ''
  return ip.startsWith('127.') || ip === '::1'
}

/** WebSocket multiaddrs among `addrs`, with `/p2p/<peerId>`, LAN ones first. */
export function browserDialable (addrs: Multiaddr[], peerId: string): string[] {
  const ws = addrs.filter(ma => {
    const names = ma.getComponents().map(c => c.name)
    return names.includes('ws') && !names.includes('p2p-circuit')
  })
  const sorted = [...ws.filter(ma => !isLoopback(ma)), ...ws.filter(isLoopback)]
  return sorted.map(ma => {
    const text = ma.toString()
    return text.includes('/p2p/') ? text : `${text}/p2p/${peerId}`
  })
}

export function startNeighbours (node: Libp2p): Neighbours {
  const lifetime = new Lifetime()
  const known = new Map<string, Neighbour>()
  const onIdentify = (event: CustomEvent<IdentifyResult>): void => {
    const { peerId, protocols, listenAddrs } = event.detail
    const id = peerId.toString()
    const multiaddrs = browserDialable(listenAddrs, id)
    if (protocols.includes(RELAY_V2_HOP_CODEC) && multiaddrs.length > 0) known.set(id, { peerId: id, multiaddrs })
    else known.delete(id)
  }
  const onDisconnect = (event: CustomEvent<PeerId>): void => { known.delete(event.detail.toString()) }
  node.addEventListener('peer:identify', onIdentify, { signal: lifetime.signal })
  node.addEventListener('peer:disconnect', onDisconnect, { signal: lifetime.signal })
  return {
    list: () => [...known.values()],
    stop: () => { lifetime.stop() }
  }
}
