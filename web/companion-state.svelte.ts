/**
 * What the page knows about its companion and the conversation, as reactive
 * state. `companion-session.ts` writes it; components only read it.
 */
import type { CompanionStatus, ConversationView } from '../companion/companion-events.ts'
import type { Vote } from '../companion/speaker-selection.ts'
import { nameFromId } from '../protocol/ids.ts'
import type { CompanionCard } from '../protocol/payloads.ts'
import { BUILTIN } from './brain-choice.ts'
import type { BrainChoice } from './brain-choice.ts'
import type { RelayLlm } from '../protocol/relay-api.ts'
import type { TabBrainPhase } from './tab-brain.ts'

export interface TimelineLine {
  id: string
  from: string
  to: string[]
  text: string
  emotion: string
  time: number
  /** Said by this tab's companion or this tab's person. */
  own: boolean
  /** The line it answers (`metadata.replyTo`). */
  replyTo?: string
  /** Said before this page was opened (the room's history, or this browser's transcript). */
  earlier?: boolean
}

export interface Present { peerId: string, card: CompanionCard }

export interface LastAction { name: string, detail: string, time: number }

export interface TurnView { votes: Vote[], speaker: string | null, by: string }

/**
 * Getting a model ready to think in this tab: where it is (checking,
 * downloading, storing, loading), bytes so far, and how it ended (ready,
 * failed, cancelled) with a message for the person.
 */
export interface ModelJobView {
  name: string
  phase: TabBrainPhase | 'ready' | 'failed' | 'cancelled'
  loaded: number
  total: number | null
  message: string
  /** Once ready: the engine runs in this tab, or in another tab of this browser. */
  engine?: 'here' | 'other-tab'
}

/** Lines kept on the page. */
export const TIMELINE_LIMIT = 200

export class CompanionState {
  card = $state<CompanionCard | null>(null)
  /** The companion is up (born, present, listening): what only a click needs may load now. */
  up = $state(false)
  status = $state<CompanionStatus>('resting')
  present = $state.raw<Present[]>([])
  timeline = $state.raw<TimelineLine[]>([])
  /** Last action seen per companion id. */
  actions = $state<Record<string, LastAction>>({})
  /** How each line's turn was decided, by message id. */
  turns = $state<Record<string, TurnView>>({})
  brainError = $state('')
  /** Another peer was this companion in the room first: why this one is quiet ('' if not). */
  twin = $state('')
  /** Who holds the turn, the closing stage, and whether we want to speak. */
  conversation = $state.raw<ConversationView>({ holder: null, closing: 'none', resting: true, wants: null })
  turnLimit = $state(0)
  /** The brain the person chose, and what the relay offers. */
  brain = $state.raw<BrainChoice>(BUILTIN)
  relayLlm = $state.raw<RelayLlm | null>(null)
  /** The model being readied for this tab, or the last one's outcome (null: none). */
  modelJob = $state.raw<ModelJobView | null>(null)
  sound = $state(false)
  personId = $state('')
  personName = $state('You')

  /** Names people gave themselves in their lines (`metadata.name`), by id. */
  names = $state<Record<string, string>>({})

  nameOf (id: string): string {
    if (id === this.card?.id) return this.card.name
    if (id === this.personId) return this.personName
    if (this.names[id] !== undefined) return this.names[id]
    return this.present.find(p => p.card.id === id)?.card.name ?? nameFromId(id)
  }

  addLine (line: TimelineLine): void {
    if (this.timeline.some(l => l.id === line.id)) return
    this.timeline = [...this.timeline, line].slice(-TIMELINE_LIMIT)
  }

  /** Lines said before this page was opened: shown before the live ones, oldest first, none twice. */
  addEarlier (lines: ReadonlyArray<Omit<TimelineLine, 'own' | 'earlier'>>): void {
    const known = new Set(this.timeline.map(l => l.id))
    const fresh: typeof lines[number][] = []
    for (const line of lines) {
      if (known.has(line.id)) continue
      known.add(line.id)
      fresh.push(line)
    }
    if (fresh.length === 0) return
    const mine = (id: string): boolean => id === this.card?.id || id === this.personId
    const earlier = [...this.timeline.filter(l => l.earlier === true), ...fresh.map(l => ({ ...l, own: mine(l.from), earlier: true }))]
      .sort((a, b) => a.time - b.time)
    this.timeline = [...earlier, ...this.timeline.filter(l => l.earlier !== true)].slice(-TIMELINE_LIMIT)
  }
}
