/**
 * Turns a libp2p node into a companion peer, the same way in a tab and in
 * the headless companion, in two steps, because a tab can be in a room
 * without a companion of its own (`?companion=off`):
 *
 * 1. `startRoomPeer` (p2p/room-peer.ts): the node in its room.
 * 2. `startCompanionPeer` (here): the companion on that node: its card
 *    served and announced, the others' collected (presence: the directory's
 *    cards and those asked of directly connected peers of the room, aikyo's
 *    included, and which of them are aikyo's), the `Companion` runtime with
 *    its brain, fed with every delivery of the room. A page loads this step
 *    (and the companion's code) only once its node is up.
 *
 * What each runtime does with the conversation (a page, a log) it adds on
 * top, by listening to the channel, the presence and the companion's events.
 */
import type { Brain } from '../companion/brain.ts'
import { Companion } from '../companion/companion.ts'
import type { CompanionSettings } from '../companion/companion.ts'
import type { CompanionCard } from '../protocol/payloads.ts'
import { voteRuleOf } from '../protocol/rooms.ts'
import type { CompanionPeerNode, RoomPeer, TwinOf } from './room-peer.ts'
import { startPresence } from './presence.ts'
import { Listeners } from '../protocol/listeners.ts'

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
  /**
   * Told when it turns out another peer was this companion in the room first
   * (this one is then quiet); at once if that is known already. Returns the unsubscribe.
   */
  onTwin: (listener: (twin: TwinOf) => void) => () => void
  /** A person edited the card (the id stays): served and announced from now on. */
  setCard: (card: CompanionCard) => void
  stop: () => Promise<void>
}

/** The companion on a node already in its room (see the module comment). */
export async function startCompanionPeer (node: CompanionPeerNode, joined: RoomPeer, options: CompanionPeerOptions): Promise<CompanionPeer> {
  let card = options.card
  // Who votes is the room's rule (protocol/rooms.ts), not a setting.
  const settings = { ...options.settings, votes: voteRuleOf(joined.room) }
  const companion = new Companion({ card, brain: options.brain, publish: joined.channel.publish, settings })

  // Present: whom the room's directory lists, and whom we asked for a card
  // over a direct connection (aikyo's nodes, which do not announce, among
  // them), less twins (see startRoomPeer).
  const listeners = new Listeners<ReadonlyMap<string, CompanionCard>>()
  const refresh = (present: ReadonlyMap<string, CompanionCard>): void => {
    const aikyo = joined.aikyo()
    companion.setPresent([...present].map(([peer, card]) => ({ card, peer, aikyo: aikyo.has(peer) })))
    listeners.tell(present)
  }
  const presence = await startPresence(node, () => card, joined.room)
  const unsubscribeAsked = presence.onChange(({ cards, foreign }) => { joined.setAsked(cards, foreign) })
  const unsubscribeCards = joined.onCompanions(refresh)
  // Those the room's directory listed before this companion came up.
  if (joined.companions().size > 0) refresh(joined.companions())
  // Another peer was this companion in the room first: this one goes quiet.
  let quiet = false
  const unsubscribeTwin = joined.onTwin(() => {
    quiet = true
    companion.stop()
    void presence.stop()
  })
  joined.setCard(card)
  const unsubscribe = joined.channel.onPayload((delivery) => { companion.receive(delivery) })

  return {
    companion,
    present: () => joined.companions(),
    onPresence: (listener) => listeners.add(listener),
    onTwin: joined.onTwin,
    setCard: (edited) => {
      if (quiet) return
      card = edited
      companion.setCard(edited)
      joined.setCard(edited)
      void presence.announce()
    },
    stop: async () => {
      unsubscribe()
      unsubscribeAsked()
      unsubscribeCards()
      unsubscribeTwin()
      listeners.clear()
      companion.stop()
      await presence.stop()
    }
  }
}
