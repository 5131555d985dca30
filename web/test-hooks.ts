/**
 * A deliberate test hook, installed only when the URL has `?test-hooks`:
 * benchmarks publish and time payloads through it without going through the
 * DOM. Nothing else in the page touches `window`.
 */
import type { CompanionNetwork } from './companion-network.ts'

export interface TestHooks {
  peerId: string
  /** The node's own addresses right now (relay reservation, /webrtc). */
  multiaddrs: () => string[]
  publish: CompanionNetwork['publish']
  onPayload: CompanionNetwork['onPayload']
}

declare global {
  interface Window { kotobaTestHooks?: TestHooks }
}

export function installTestHooks (network: CompanionNetwork): void {
  if (!new URLSearchParams(location.search).has('test-hooks')) return
  window.kotobaTestHooks = {
    peerId: network.node.peerId.toString(),
    multiaddrs: () => network.node.getMultiaddrs().map(ma => ma.toString()),
    publish: network.publish,
    onPayload: network.onPayload
  }
}
