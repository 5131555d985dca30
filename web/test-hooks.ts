/**
 * A deliberate test hook, loaded and installed only when the URL has `?test-hooks`:
 * benchmarks and tests publish and time payloads through it without going
 * through the DOM. Nothing else in the page touches `window`.
 */
import type { CompanionNetwork } from './companion-network.ts'
import type { CompanionSession } from './companion-session.ts'
import type { RoomChannel } from '../p2p/topic-bus.ts'
import type { LocalModel } from '../companion/local-model.ts'

export interface TestHooks {
  peerId: string
  /** The node's own addresses right now (relay reservation, /webrtc). */
  multiaddrs: () => string[]
  publish: RoomChannel['publish']
  onPayload: RoomChannel['onPayload']
  /** This tab's companion card id, if it has a companion. */
  companionId?: string
  /** Ids of the lines its companion's brain gets as context now, oldest first. */
  contextLines: () => string[]
  /** The room's peers its directory knows, and those it holds a direct link to. */
  room: () => { known: string[], linked: string[] }
  /** The model thinking in this tab, if one is (the brain benchmark asks it directly). */
  tabModel: () => LocalModel | undefined
  /** How many model engines this page loaded (tabs of one browser share one). */
  enginesLoaded: () => Promise<number>
  /**
   * How many times each companion (by id) came into this tab's companion's
   * presence since the hooks were installed, those present then counted
   * once: a companion seen to leave and come back (whom a companion at
   * rest greets again) counts twice.
   */
  arrivals: () => Record<string, number>
  /** The direct (not relayed) connections of this tab that closed since the hooks were installed, other than to its relay: peer, address, how long it was open (ms), when it closed. */
  directClosed: () => Array<{ peer: string, addr: string, openMs: number, at: string }>
}

declare global {
  interface Window { kotobaTestHooks?: TestHooks }
}

export function installTestHooks (network: CompanionNetwork, session?: CompanionSession): void {
  const arrivals: Record<string, number> = {}
  let present = new Set<string>()
  const seen = (ids: Set<string>): void => {
    for (const id of ids) if (!present.has(id)) arrivals[id] = (arrivals[id] ?? 0) + 1
    present = ids
  }
  if (session !== undefined) {
    const { companion } = session
    seen(new Set(companion.turnState.present.filter(id => id !== companion.card.id)))
    session.onPresence((now) => { seen(new Set([...now.values()].map(card => card.id))) })
  }
  const directClosed: ReturnType<TestHooks['directClosed']> = []
  network.node.addEventListener('connection:close', ({ detail: c }) => {
    if (c.remotePeer.toString() === network.relay.peerId) return
    directClosed.push({ peer: c.remotePeer.toString(), addr: `${c.limits != null ? 'LIMITED ' : ''}${c.direction} ${c.remoteAddr.toString()}`, openMs: Math.round((c.timeline.close ?? Date.now()) - c.timeline.open), at: new Date().toISOString() })
  })
  window.kotobaTestHooks = {
    peerId: network.node.peerId.toString(),
    multiaddrs: () => network.node.getMultiaddrs().map(ma => ma.toString()),
    publish: network.joined.channel.publish,
    onPayload: network.joined.channel.onPayload,
    companionId: session?.companion.card.id,
    contextLines: () => session?.companion.turnState.history.map(l => l.id) ?? [],
    room: () => ({ known: network.joined.directory.peers(), linked: network.joined.links.linked() }),
    tabModel: () => session?.tabModel(),
    enginesLoaded: async () => (await import('./shared-engine.ts')).enginesLoaded(),
    arrivals: () => ({ ...arrivals }),
    directClosed: () => [...directClosed]
  }
}
