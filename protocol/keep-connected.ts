/**
 * Keeps one libp2p peer connected: dials it now, and again with capped
 * exponential backoff whenever the connection is lost, for as long as the
 * signal lives. libp2p's own reconnect queue gives up after about half a
 * minute; a relay that is restarted or a bootstrap peer across the LAN can
 * be gone for much longer. Used by the relay (bootstrap peers) and by the
 * tab (its relay).
 */
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface KeepConnectedOptions {
  signal: AbortSignal
  /** First retry delay in ms; doubles per failure up to `maxDelay`. */
  minDelay?: number
  maxDelay?: number
  /** How long one dial may take before it counts as failed. */
  dialTimeout?: number
  /** Told of every failed dial (for a status line or a log). */
  onDialError?: (error: Error, attempt: number) => void
}

/** Whether `node` has an open, unlimited (not relayed) connection to `peerId`. */
export function hasDirectConnection (node: Libp2p, peerId: string): boolean {
  return node.getConnections().some(c => c.remotePeer.toString() === peerId && c.status === 'open' && c.limits == null)
}

/** The peer id a multiaddr ends in, if any. */
export function peerIdOf (address: Multiaddr): string | undefined {
  return address.getComponents().findLast(c => c.name === 'p2p')?.value
}

/** `targets` are addresses of one peer, tried together on each dial. */
export function keepConnected (node: Libp2p, targets: Multiaddr[], options: KeepConnectedOptions): void {
  const { signal, minDelay = 250, maxDelay = 5000, dialTimeout = 10_000, onDialError } = options
  const ids = new Set(targets.map(peerIdOf))
  const peerId = targets.length > 0 && ids.size === 1 ? [...ids][0] : undefined
  if (peerId == null) {
    throw new TypeError(`keepConnected needs addresses of one peer, each ending in /p2p/<id>, got ${targets.join(', ')}`)
  }

  let attempt = 0
  let timer: ReturnType<typeof setTimeout> | undefined

  const schedule = (delay: number): void => {
    if (timer !== undefined || signal.aborted) return
    timer = setTimeout(() => { timer = undefined; void tryDial() }, delay)
  }

  const tryDial = async (): Promise<void> => {
    if (signal.aborted || hasDirectConnection(node, peerId)) return
    try {
      await node.dial(targets, { signal: AbortSignal.any([signal, AbortSignal.timeout(dialTimeout)]) })
      attempt = 0
    } catch (err) {
      if (signal.aborted) return
      attempt++
      onDialError?.(err as Error, attempt)
      // Jitter keeps a roomful of tabs from redialling a restarted relay in lockstep.
      const delay = Math.min(maxDelay, minDelay * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5)
      schedule(delay)
    }
  }

  const onDisconnect = (event: CustomEvent<{ toString: () => string }>): void => {
    if (event.detail.toString() === peerId) schedule(minDelay)
  }

  node.addEventListener('peer:disconnect', onDisconnect)
  signal.addEventListener('abort', () => {
    clearTimeout(timer)
    node.removeEventListener('peer:disconnect', onDisconnect)
  }, { once: true })
  schedule(0)
}
