/**
 * A companion without a browser: the page's companion (companion/), on a
 * Node libp2p node. Cards over the metadata protocol (presence), payloads
 * into the Companion runtime, its lines out through the topic bus, and a
 * log line for everything a person running it wants to follow.
 */
import { createBuiltinBrain } from '../companion/builtin-brain.ts'
import { Companion } from '../companion/companion.ts'
import { createLlmBrain } from '../companion/llm-brain.ts'
import { startPresence } from '../companion/presence.ts'
import { decodePayload } from '../protocol/codec.ts'
import { keepDirectLinks } from '../protocol/direct-links.ts'
import { keepGossipLinksTwoWay } from '../protocol/gossip-links.ts'
import type { CompanionCard, Message } from '../protocol/payloads.ts'
import { startTopicBus } from '../protocol/topic-bus.ts'
import type { TopicBus } from '../protocol/topic-bus.ts'
import { connectLanPeers } from '../relay/lan-peers.ts'
import { loadOrCreatePeerKey } from '../relay/peer-key.ts'
import { createHeadlessNode } from './libp2p-node.ts'
import type { HeadlessNode } from './libp2p-node.ts'
import type { HeadlessOptions } from './options.ts'

/** Tabs announce themselves every second; so does a headless companion, to be found as fast. */
export const ANNOUNCE_INTERVAL_MS = 1000

export interface HeadlessCompanion {
  peerId: string
  node: HeadlessNode
  companion: Companion
  bus: TopicBus
  /** The other companions present now. */
  present: () => CompanionCard[]
  close: () => Promise<void>
}

export interface HeadlessDeps {
  log?: (line: string) => void
  /** Log every line of the conversation (default), or only this companion's own. */
  showConversation?: boolean
}

export async function startHeadlessCompanion (options: HeadlessOptions, deps: HeadlessDeps = {}): Promise<HeadlessCompanion> {
  const log = deps.log ?? ((line: string) => { console.log(line) })
  const lifetime = new AbortController()
  const privateKey = await loadOrCreatePeerKey(options.dataDir)
  const node = await createHeadlessNode({ privateKey, host: options.host, tcpPort: options.tcpPort, mdns: options.mdns, announceInterval: ANNOUNCE_INTERVAL_MS })
  const card = options.card

  const bus = startTopicBus(node.services.pubsub, (refusal) => { log(`refused on ${refusal.topic} from ${refusal.from}: ${refusal.message}`) })
  keepGossipLinksTwoWay(node)
  keepDirectLinks(node, { signal: lifetime.signal, announceInterval: ANNOUNCE_INTERVAL_MS, tcp: true })
  connectLanPeers(node, options.bootstrap, lifetime.signal, log)

  const brain = options.llm === undefined ? createBuiltinBrain({ seed: card.id }) : createLlmBrain(options.llm)
  const settings = options.turnLimit === undefined ? {} : { turnLimit: options.turnLimit }
  const companion = new Companion({ card, brain, publish: bus.publish, settings })

  let present: CompanionCard[] = []
  const names = new Map<string, string>([[card.id, card.name]])
  const presence = await startPresence(node, () => card)
  presence.onChange((cards) => {
    const before = new Set(present.map(c => c.id))
    present = [...cards.values()]
    for (const c of present) {
      names.set(c.id, c.name)
      if (!before.has(c.id)) log(`+ ${c.name} (${c.id}) is here`)
    }
    for (const id of before) if (!present.some(c => c.id === id)) log(`- ${names.get(id) ?? id} left`)
    companion.setPresent(present)
  })

  companion.onEvent((event) => {
    if (event.type === 'brain-error') log(`! brain: ${event.message}`)
    if (event.type === 'brain-ok') log('! brain: answering again')
  })

  const unsubscribe = bus.onPayload((topic, text) => {
    const decoded = decodePayload(topic, text)
    if (!decoded.ok) return
    companion.receive(topic, decoded.payload)
    if (topic === 'messages' && (deps.showConversation !== false || (decoded.payload as Message).params.from === card.id)) {
      const m = (decoded.payload as Message).params
      const speaker = typeof m.metadata?.name === 'string' ? m.metadata.name : names.get(m.from) ?? m.from
      const to = m.to.map(id => names.get(id) ?? id).join(', ')
      log(`${speaker}${to === '' ? '' : ` -> ${to}`}: ${m.message}`)
    }
  })

  let closing: Promise<void> | undefined
  return {
    peerId: node.peerId.toString(),
    node,
    companion,
    bus,
    present: () => present,
    close: async () => {
      closing ??= (async () => {
        lifetime.abort()
        unsubscribe()
        companion.stop()
        await presence.stop()
        await node.stop()
      })()
      await closing
    }
  }
}
