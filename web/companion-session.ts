/**
 * The tab's companion at work: its card served and others' cards collected
 * (presence), the Companion runtime fed with every payload, and this tab
 * answering its own companion's `speak` queries (aloud when sound is on).
 * Data flows one way: network -> companion -> CompanionState -> components.
 */
import { editCard } from '../companion/card.ts'
import type { CardEdit } from '../companion/card.ts'
import type { Companion, CompanionSettings } from '../companion/companion.ts'
import { TURN_LIMIT_BOUNDS, isTurnLimit } from '../companion/turn-state.ts'
import { startCompanionPeer } from '../p2p/companion-peer.ts'
import type { CompanionPeer } from '../p2p/companion-peer.ts'
import { messageSend } from '../protocol/build.ts'
import { isCompanionId } from '../protocol/ids.ts'
import { isQuery } from '../protocol/payloads.ts'
import type { Action, CompanionCard, MessageMetadata, Query, QueryResult } from '../protocol/payloads.ts'
import { BUILTIN, brainFor, loadBrainChoice } from './brain-choice.ts'
import { startSessionBrain } from './session-brain.ts'
import type { SessionBrain } from './session-brain.ts'
import type { CompanionNetwork } from './companion-network.ts'
import type { CompanionState, TimelineLine } from './companion-state.svelte.ts'
import type { RoomTranscript } from './room-transcript.ts'
import { PERSON_NAME_MAX, savePerson } from './identity.ts'
import type { Identity, Person } from './identity.ts'
import { TURN_LIMIT_KEY } from './settings.ts'

export interface CompanionSession extends Omit<SessionBrain, 'stop'> {
  companion: Companion
  /** Told whenever the companions present change (those present now, by peer id). Returns the unsubscribe. */
  onPresence: CompanionPeer['onPresence']
  /** The person at the keyboard says something to the chosen companions (all present if none). */
  say: (text: string, to?: string[]) => Promise<void>
  edit: (edit: CardEdit) => { ok: true } | { ok: false, message: string }
  /** The person's display name (kept for this browser). */
  rename: (name: string) => { ok: true } | { ok: false, message: string }
  /** Lines before the conversation must close (kept for this browser). */
  setTurnLimit: (limit: number) => { ok: true } | { ok: false, message: string }
  stop: () => Promise<void>
}

function describeAction (action: Action): string {
  const p = action.params.params
  const value = p.gesture ?? p.emotion ?? Object.values(p)[0]
  return typeof value === 'string' ? value : action.params.name
}

export interface SessionPlace {
  /** Where the brain choice is kept (localStorage). */
  storage: Pick<Storage, 'getItem' | 'setItem'>
  /** The page's origin, to reach the relay's model proxy. */
  origin: string
  /** What was said in the room before: the companion remembers it, and live lines are kept with it. */
  transcript?: Promise<RoomTranscript>
  /** Threads for a model in the tab, asked of the relay for the next load (see SessionBrainPlace). */
  askThreads: (on: boolean) => void
  threadsAfterReload: boolean
}

export async function startCompanionSession (network: CompanionNetwork, identity: Identity, initialPerson: Person, state: CompanionState, settings: Partial<CompanionSettings>, place: SessionPlace): Promise<CompanionSession> {
  let card = identity.card
  let person = initialPerson
  state.card = card
  state.personId = person.id
  state.personName = person.name
  // Earlier lines shown before we knew who we are: mark ours.
  state.timeline = state.timeline.map(l => l.own || (l.from !== card.id && l.from !== person.id) ? l : { ...l, own: true })
  state.relayLlm = network.relay.llm
  const saved = loadBrainChoice(place.storage)
  // A model in the tab thinks once it is ready; the built-in brain until then.
  state.brain = saved.kind === 'tab' ? BUILTIN : saved
  const first = brainFor(saved, network.relay.llm, place.origin, card.id)
  if (first.problem !== undefined) state.brainError = `using the built-in brain: ${first.problem}`
  const bus = network.joined.channel
  const peer = await startCompanionPeer(network.node, network.joined, { card, brain: first.brain, settings })
  const { companion } = peer
  state.turnLimit = companion.turnState.settings.turnLimit
  const showPresent = (present: ReadonlyMap<string, CompanionCard>): void => {
    state.present = [...present].map(([peerId, c]) => ({ peerId, card: c }))
  }
  peer.onPresence(showPresent)
  // Those present before this companion came up (its node reached the room first).
  showPresent(peer.present())
  // A companion with this id was in the room first, on another peer: say so, show no twin.
  // Written in a microtask: written synchronously inside libp2p's connection
  // event (the relay's roster arrives as the connection opens), the change
  // was not rendered (Svelte 5.57); a microtask later it is.
  peer.onTwin((twin) => {
    queueMicrotask(() => {
      state.twin = `${card.name} (${twin.id}) is already in this room, on another peer (${twin.holder.slice(-8)}): this tab's companion stays quiet. Close the other one, or open a new companion.`
      state.status = 'resting'
    })
  })
  void place.transcript?.then(async t => await t.earlier).then((messages) => { companion.remember(messages) })

  companion.onEvent((event) => {
    switch (event.type) {
      case 'status': state.status = event.status; break
      case 'decided': state.turns[event.messageId] = { votes: event.votes, speaker: event.speaker, by: event.by }; break
      case 'brain-error': state.brainError = event.message; break
      case 'brain-ok': state.brainError = ''; break
      case 'conversation': state.conversation = event.view; break
      default: break
    }
  })

  const unsubscribe = followRoom(network, state, {
    card: () => card,
    person: () => person,
    renamed: (name) => {
      person = { ...person, name }
      state.personName = name
    },
    transcript: place.transcript
  })
  const brains = startSessionBrain(companion, state, { storage: place.storage, origin: place.origin, relayLlm: network.relay.llm, cardId: card.id, saved, askThreads: place.askThreads, threadsAfterReload: place.threadsAfterReload })

  return {
    companion,
    onPresence: peer.onPresence,
    say: async (text, to) => {
      const addressees = to ?? state.present.map(p => p.card.id).filter(id => id !== card.id).concat(card.id)
      // Mid-conversation the line answers the head (one conversation, not two);
      // after a rest it starts the next one.
      const { head, conversation } = companion.turnState
      const metadata: MessageMetadata = { name: person.name }
      if (head !== null && !conversation.resting) metadata.replyTo = head.id
      await bus.publish('messages', messageSend({ from: person.id, to: addressees, message: text, metadata }))
    },
    edit: (edit) => {
      const result = editCard(card, edit)
      if (!result.ok) return result
      card = result.card
      identity.save(card)
      peer.setCard(card)
      state.card = card
      return { ok: true }
    },
    rename: (name) => {
      const trimmed = name.trim()
      if (trimmed === '' || trimmed.length > PERSON_NAME_MAX) return { ok: false, message: `a name has 1 to ${PERSON_NAME_MAX} characters` }
      person = { ...person, name: trimmed }
      savePerson(person)
      state.personName = trimmed
      return { ok: true }
    },
    setTurnLimit: (limit) => {
      if (!isTurnLimit(limit)) return { ok: false, message: `the turn limit is a whole number from ${TURN_LIMIT_BOUNDS.min} to ${TURN_LIMIT_BOUNDS.max}` }
      companion.setSettings({ turnLimit: limit })
      place.storage.setItem(TURN_LIMIT_KEY, String(limit))
      state.turnLimit = limit
      return { ok: true }
    },
    setBrain: brains.setBrain,
    cancelModel: brains.cancelModel,
    tabModel: brains.tabModel,
    testBrain: brains.testBrain,
    stop: async () => {
      unsubscribe()
      await peer.stop()
      await brains.stop()
    }
  }
}

/**
 * What the room says, as the page shows it: lines (with the names people go
 * by; this person renamed in another tab), gestures, and this tab answering
 * its own companion's `speak` queries (aloud when sound is on). Returns the
 * unsubscribe.
 */
function followRoom (network: CompanionNetwork, state: CompanionState, who: { card: () => CompanionCard, person: () => Person, renamed: (name: string) => void, transcript: Promise<RoomTranscript> | undefined }): () => void {
  const bus = network.joined.channel
  const answerSpeak = (query: Query): void => {
    const text = query.params.body?.message
    const respond = (result: QueryResult): void => { void bus.publish('query-results', result).catch(() => {}) }
    if (!state.sound || typeof text !== 'string' || typeof speechSynthesis === 'undefined') {
      respond({ jsonrpc: '2.0', id: query.id, result: { success: false, body: { reason: state.sound ? 'this browser cannot speak' : 'sound is off' } } })
      return
    }
    const utterance = new SpeechSynthesisUtterance(text)
    utterance.onend = () => { respond({ jsonrpc: '2.0', id: query.id, result: { success: true, body: { spoken: true } } }) }
    utterance.onerror = (e) => { respond({ jsonrpc: '2.0', id: query.id, error: `speech failed: ${e.error}` }) }
    speechSynthesis.speak(utterance)
  }

  return bus.onPayload((delivery) => {
    const { own } = delivery
    const card = who.card()
    if (delivery.topic === 'messages') {
      const m = delivery.payload.params
      const { emotion = '', name: named, replyTo } = m.metadata ?? {}
      // People name themselves in metadata.name (companions by their card).
      if (named !== undefined && !isCompanionId(m.from)) {
        const name = named.slice(0, PERSON_NAME_MAX)
        state.names[m.from] = name
        // This person, renamed in another tab of this browser.
        const person = who.person()
        if (m.from === person.id && name !== person.name && name.trim() !== '') who.renamed(name)
      }
      const line: TimelineLine = { id: m.id, from: m.from, to: m.to, text: m.message, emotion, time: Date.now(), own: own || m.from === card.id }
      if (replyTo !== undefined) line.replyTo = replyTo
      state.addLine(line)
      void who.transcript?.then((t) => { t.keep(line, named) })
    } else if (delivery.topic === 'actions') {
      const a = delivery.payload
      state.actions[a.params.from] = { name: a.params.name, detail: describeAction(a), time: Date.now() }
    } else if (delivery.topic === 'queries') {
      const q = delivery.payload
      if (isQuery(q) && q.params.from === card.id && q.params.type === 'speak') answerSpeak(q)
    }
  })
}
