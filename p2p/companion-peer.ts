/**
 * Turns a libp2p node into a companion peer, the same way in a tab and in
 * the headless companion. Two steps, because a tab can be on the topics
 * without a companion of its own (`?companion=off`):
 *
 * 1. `joinTopics`: its room's five topics (the topic bus, its validators),
 *    GossipSub peerings kept two-way, and direct links to every companion of
 *    the room it hears of.
 * 2. `startCompanionPeer`: the companion on that node: its card served and
 *    the others' collected (presence: those in its room), the `Companion`
 *    runtime with its brain, fed with every delivery of the room.
 *
 * What each runtime does with the conversation (a page, a log) it adds on
 * top, by listening to the bus, the presence and the companion's events.
 */
import type { GossipSub } from '@libp2p/gossipsub'
import type { IdentifyPush } from '@libp2p/identify'
import type { Libp2p, PeerDiscovery } from '@libp2p/interface'
import type { Brain } from '../companion/brain.ts'
import { Companion } from '../companion/companion.ts'
import type { CompanionSettings } from '../companion/companion.ts'
import type { CompanionCard } from '../protocol/payloads.ts'
import type { RoomName } from '../protocol/rooms.ts'
import { keepDirectLinks } from './direct-links.ts'
import { keepGossipLinksTwoWay } from './gossip-links.ts'
import { startPresence } from './presence.ts'
import { startTopicBus } from './topic-bus.ts'
import type { Refusal, RoomChannel, TopicBus } from './topic-bus.ts'

/** What a node needs to be a companion peer (the tab's and the headless companion's nodes both are). */
export type CompanionPeerNode = Libp2p<{ pubsub: GossipSub, discovery: PeerDiscovery, identifyPush?: IdentifyPush }>

export interface JoinOptions {
  /** The room (the node's GossipSub and announcements must be set up for it). */
  room: RoomName  /** Ends the direct links' dialling. */
  signal: AbortSignal
  /** Dial other companions' TCP addresses before WebRTC (a Node peer). */
  tcp?: boolean
  onRefused?: (refusal: Refusal) => void
}

/** Puts the node on its room's topics and keeps its links (see the module comment). */
export function joinTopics (node: CompanionPeerNode, options: JoinOptions): RoomChannel {
  const bus: TopicBus = startTopicBus(node, options.onRefused ?? (() => {}))
  bus.join(options.room)
  keepGossipLinksTwoWay(node)
  keepDirectLinks(node, { signal: options.signal, ...(options.tcp === true ? { tcp: true } : {}) })
  return bus.channel(options.room)
}

export interface CompanionPeerOptions {
  card: CompanionCard
  brain: Brain
  settings?: Partial<CompanionSettings>
}

export interface CompanionPeer {
  companion: Companion
  /** The companions present now (not this one), by peer id. */
  present: () => ReadonlyMap<string, CompanionCard>
  /** Told after every change of who is present. Returns the unsubscribe. */
  onPresence: (listener: (present: ReadonlyMap<string, CompanionCard>) => void) => () => void
  /** A person edited the card (the id stays): served from now on, and announced to connected peers. */
  setCard: (card: CompanionCard) => void
  stop: () => Promise<void>
}

/** The companion on a node already on its room's topics (see the module comment). */
export async function startCompanionPeer (node: CompanionPeerNode, channel: RoomChannel, options: CompanionPeerOptions): Promise<CompanionPeer> {
  let card = options.card
  const companion = new Companion({ card, brain: options.brain, publish: channel.publish, settings: options.settings })
  let present: ReadonlyMap<string, CompanionCard> = new Map()
  const presence = await startPresence(node, () => card, channel.room)
  presence.onChange((cards) => {
    present = cards
    companion.setPresent([...cards.values()])
  })
  const unsubscribe = channel.onPayload((delivery) => { companion.receive(delivery) })

  return {
    companion,
    present: () => present,
    onPresence: presence.onChange,
    setCard: (edited) => {
      card = edited
      companion.setCard(edited)
      void presence.announce()
    },
    stop: async () => {
      unsubscribe()
      companion.stop()
      await presence.stop()
    }
  }
}
