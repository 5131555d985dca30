/**
 * A room of companions thinking with the built-in brain, run turn by turn
 * without a network: each line is judged by its recipients, the speaker is
 * chosen by the protocol's rules (speaker-selection.ts, turn-decision.ts),
 * and the speaker writes; a person says the next line of a script whenever
 * the conversation rests. Deterministic for a seed: the
 * conversation test and the docs' sample (`npm run sample`) both use it.
 */
import { createBuiltinBrain } from '../../companion/builtin-brain.ts'
import type { Thought } from '../../companion/builtin-brain.ts'
import type { BrainContext } from '../../companion/brain.ts'
import { nextClosingStage, selectSpeaker } from '../../companion/speaker-selection.ts'
import type { Vote } from '../../companion/speaker-selection.ts'
import { isSelected, votedClosing } from '../../companion/turn-decision.ts'
import { DEFAULT_TURN_SETTINGS } from '../../companion/turn-state.ts'
import type { Conversation, HistoryLine } from '../../companion/turn-state.ts'
import type { CompanionCard } from '../../protocol/payloads.ts'

export interface Person { id: string, name: string }

/** A line the person says to every companion; `asks` names the one it asks (by name, in the text). */
export interface PersonLine { text: string, asks?: string }

export interface RoomLine extends HistoryLine {
  name: string
  /** The brain's thought, for a companion's line. */
  thought?: Thought
  /** The line the person's script had (for the person's lines). */
  scripted?: PersonLine
}

export interface BrainRoomOptions {
  cards: CompanionCard[]
  person: Person
  script: PersonLine[]
  /** Lines to run (person's included). */
  lines: number
  seed: string
  turnLimit?: number
}

const signal = new AbortController().signal

export async function runBrainRoom (options: BrainRoomOptions): Promise<RoomLine[]> {
  const { cards, person, script } = options
  const thoughts: Thought[] = []
  const brain = createBuiltinBrain({ seed: options.seed, observe: (t) => { thoughts.push(t) } })
  const settings = { ...DEFAULT_TURN_SETTINGS, turnLimit: options.turnLimit ?? 8 }
  const nameOf = (id: string): string => id === person.id ? person.name : cards.find(c => c.id === id)?.name ?? ''
  const transcript: RoomLine[] = []
  const history = (): HistoryLine[] => transcript.slice(-10).map(({ id, from, to, text, replyTo }) => ({ id, from, to, text, ...(replyTo === undefined ? {} : { replyTo }) }))
  const contextOf = (card: CompanionCard): BrainContext => ({ card, companions: cards.filter(c => c.id !== card.id), history: history(), nameOf })
  let conversation: Conversation = { lines: 0, closing: 'none', resting: true }
  let next = 0

  const personSays = (): void => {
    const line = script[next++ % script.length]
    const to = cards.map(c => c.id)
    const head = transcript.at(-1)
    transcript.push({ id: `l${transcript.length}`, from: person.id, name: person.name, to, text: line.text, scripted: line, ...(head === undefined || conversation.resting ? {} : { replyTo: head.id }) })
    conversation = conversation.resting ? { lines: 1, closing: 'none', resting: false } : { ...conversation, lines: conversation.lines + 1 }
  }

  personSays()
  while (transcript.length < options.lines) {
    const line = transcript.at(-1)!
    const votes: Vote[] = []
    for (const card of cards) {
      if (card.id === line.from || (line.to.length > 0 && !line.to.includes(card.id))) continue
      const selected = isSelected(line, card.id, card.name)
      const judgement = await brain.judge(contextOf(card), { message: line, selected, conversation }, signal)
      const closing = votedClosing(judgement.closing, { conversation, history: history(), settings })
      votes.push({ from: card.id, state: judgement.state, importance: judgement.importance, selected, closing })
    }
    const chosen = conversation.closing === 'terminal' ? undefined : selectSpeaker(votes)
    if (chosen === undefined || chosen.state !== 'speak') {
      conversation = { lines: 0, closing: 'none', resting: true }
      personSays()
      continue
    }
    const card = cards.find(c => c.id === chosen.from)!
    const written = await brain.write(contextOf(card), { replyTo: line, vote: chosen, greet: null, conversation }, signal)
    transcript.push({ id: `l${transcript.length}`, from: card.id, name: card.name, to: written.to, text: written.text, replyTo: line.id, thought: thoughts.at(-1) })
    conversation = { lines: conversation.lines + 1, closing: chosen.closing, resting: false }
    if (chosen.closing === 'terminal') conversation = { ...conversation, closing: nextClosingStage(chosen.closing) }
  }
  return transcript
}

/** A transcript as a person reads it. */
export function formatTranscript (lines: readonly RoomLine[]): string {
  return lines.map(l => `${l.name}: ${l.text}`).join('\n')
}
