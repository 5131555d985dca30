/**
 * Keeps one libp2p peer connected: dials it now, and again with capped
 * exponential backoff whenever the connection is lost, until it is
 * stopped. libp2p's own reconnect queue gives up after about half a
 * minute; a relay that is restarted or a bootstrap peer across the LAN can
 * be gone for much longer. Used by the relay (bootstrap peers), by the tab
 * and by the headless companion (their relay).
 *
 * Given several candidates (a tab's relay and that relay's LAN neighbours),
 * it holds one of them and moves to the next when the one it holds stops
 * answering: a tab whose relay dies goes on through another relay.
 */
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { Lifetime } from './lifetime.ts'
import { backoffDelay } from '../protocol/backoff.ts'

export interface HeldPeerOptions {
  /** First retry delay in ms; doubles per failure up to `maxDelay`. */
  minDelay?: number
  maxDelay?: number
  /** How long one dial may take before it counts as failed. */
  dialTimeout?: number
  /** Failed dials in a row after which the next candidate is tried (when there is one). */
  failoverAfter?: number
  /** Told of every failed dial (for a status line or a log). */
  onDialError?: (error: Error, attempt: number, peerId: string) => void
  /** Told when the peer held changes (another candidate answered). */
  onSwitch?: (peerId: string) => void
}

export interface HeldPeer {
  /** The peer id of the candidate held now (connected or being dialled). */
  current: () => string
  /** Stops holding it (the dial in flight is aborted; the connection stays). */
  stop: () => void
}

/** Whether `node` has an open, unlimited (not relayed) connection to `peerId`. */
export function hasDirectConnection (node: Libp2p, peerId: string): boolean {
  return node.getConnections().some(c => c.remotePeer.toString() === peerId && c.status === 'open' && c.limits == null)
}

/** The peer id a multiaddr ends in, if any. */
export function peerIdOf (address: Multiaddr): string | undefined {
  return address.getComponents().findLast(c => c.name === 'p2p')?.value
}

/** The one peer id `targets` all end in; throws when they name none or several. */
function onePeer (targets: Multiaddr[]): string {
  const ids = new Set(targets.map(peerIdOf))
  const peerId = targets.length > 0 && ids.size === 1 ? [...ids][0] : undefined
  if (peerId == null) {
    throw new TypeError(`startHeldPeer needs addresses of one peer, each ending in /p2p/<id>, got ${targets.join(', ')}`)
  }
  return peerId
}

/**
 * `candidates()` lists peers to hold, best first, each as its addresses;
 * it is read again before every dial, so it may grow. `targets` alone
 * (addresses of one peer) keeps that peer.
 */
export function startHeldPeer (node: Libp2p, targets: Multiaddr[] | (() => Multiaddr[][]), options: HeldPeerOptions = {}): HeldPeer {
  const lifetime = new Lifetime()
  const { signal } = lifetime
  const { minDelay = 250, maxDelay = 5000, dialTimeout = 10_000, failoverAfter = 2, onDialError, onSwitch } = options
  const candidates = typeof targets === 'function' ? targets : () => [targets]
  const first = candidates()[0]
  if (first === undefined) throw new TypeError('startHeldPeer needs at least one candidate')
  let held = { peerId: onePeer(first), addrs: first }
  for (const addrs of candidates()) onePeer(addrs)

  let attempt = 0
  let failures = 0
  let scheduled = false

  const schedule = (delay: number): void => {
    if (scheduled) return
    scheduled = true
    lifetime.later(delay, () => { scheduled = false; void tryDial() })
  }

  /** The candidate after the held one (in list order, wrapping), or the held one if it is alone. */
  const next = (): typeof held => {
    const list = candidates().map(addrs => ({ peerId: onePeer(addrs), addrs }))
    const index = list.findIndex(c => c.peerId === held.peerId)
    return list[(index + 1) % list.length] ?? held
  }

  const tryDial = async (): Promise<void> => {
    if (signal.aborted || hasDirectConnection(node, held.peerId)) return
    const target = held
    try {
      await node.dial(target.addrs, { signal: AbortSignal.any([signal, AbortSignal.timeout(dialTimeout)]) })
      attempt = 0
      failures = 0
    } catch (err) {
      if (signal.aborted) return
      attempt++
      failures++
      onDialError?.(err as Error, attempt, target.peerId)
      if (failures >= failoverAfter) {
        const successor = next()
        if (successor.peerId !== held.peerId) {
          failures = 0
          held = successor
          onSwitch?.(held.peerId)
          // A fresh candidate is tried at once; the backoff only paces a whole round.
          schedule(minDelay)
          return
        }
      }
      // Jitter keeps a roomful of tabs from redialling a restarted relay in lockstep.
      schedule(backoffDelay(attempt, { first: minDelay, max: maxDelay, jitter: 0.5 }))
    }
  }

  const onDisconnect = (event: CustomEvent<{ toString: () => string }>): void => {
    if (event.detail.toString() === held.peerId) schedule(minDelay)
  }

  node.addEventListener('peer:disconnect', onDisconnect, { signal })
  // The first dial now, not a task later: for a tab it is the first thing it waits for.
  void tryDial()
  return {
    current: () => held.peerId,
    stop: () => { lifetime.stop() }
  }
}
