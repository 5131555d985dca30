/**
 * Deciding the open turn, for the reducer (turn-taking.ts): casting our vote
 * by the room's rule, the votes that count for a line (aikyo recipients
 * standing in when ours decide), when they are all in, the leader publishing
 * its array, and choosing the speaker, who alone writes the next line. Pure:
 * no clock, no network.
 */
import type { State } from '../protocol/payloads.ts'
import { aikyoSpeaker } from './aikyo.ts'
import { chosen, decisionToPublish, isAikyo, passedOver, standIns } from './aikyo-turns.ts'
import { matches, matchesOtherLine, votesFor } from './decisions.ts'
import { seededRandom } from './random.ts'
import { REPETITION_THRESHOLD, couldWin, nextClosingStage, repetitionScore, selectSpeaker, voteDelayMs } from './speaker-selection.ts'
import type { ClosingStage, Vote } from './speaker-selection.ts'
import type { Conversation, DecidedBy, HistoryLine, OpenTurn, StepResult, TurnEffect, TurnState } from './turn-state.ts'

/** Whether a line asks this companion by name: it is the only recipient, or the text names it. */
export function isSelected (message: HistoryLine, self: string, selfName: string): boolean {
  if (!message.to.includes(self)) return false
  if (message.to.length === 1) return true
  const name = selfName.trim().toLowerCase()
  if (name === '') return false
  const text = message.text.toLowerCase()
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]+$/.test(name)) return new RegExp(`(^|[^a-z0-9_])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^a-z0-9_])`).test(text)
  return text.includes(name)
}

/**
 * The closing stage this companion votes: the brain may begin the walk but
 * not skip a stage; once begun it goes on; the turn limit and repetitive
 * lines begin it.
 */
export function votedClosing (proposed: ClosingStage, state: Pick<TurnState, 'conversation' | 'history' | 'settings'>): ClosingStage {
  const stage = state.conversation.closing
  const next = nextClosingStage(stage)
  if (stage !== 'none') return next
  if (state.conversation.lines >= state.settings.turnLimit) return next
  const texts = state.history.map(line => line.text)
  if (texts.length >= 5 && repetitionScore(texts) > REPETITION_THRESHOLD) return next
  return proposed === 'none' ? 'none' : next
}

const CLOSING_ORDER: Record<ClosingStage, number> = { none: 0, 'pre-closing': 1, closing: 2, terminal: 3 }

/** A vote as a state payload: a single vote with `messageId`, an entry of a decision without. */
export function stateOf (vote: Vote, messageId?: string): State {
  // Exactly aikyo's fields (it validates strictly); `messageId` only on votes.
  const params: State['params'] = {
    from: vote.from, state: vote.state, importance: vote.importance, selected: vote.selected, closing: vote.closing
  }
  if (messageId !== undefined) params.messageId = messageId
  return { jsonrpc: '2.0', method: 'state.send', params }
}

/**
 * Our judged vote, cast by the room's rule (`settings.votes`): published at
 * once (every vote), or, in a named room, never if it cannot be chosen and
 * else held until its time (`voteDelayMs`: better votes go first).
 */
export function castVote (state: TurnState, vote: Vote, messageId: string, now: number): StepResult {
  if (state.settings.votes === 'every') return { state, effects: [{ type: 'publish-vote', state: stateOf(vote, messageId) }] }
  if (!couldWin(vote, [])) return { state, effects: [] }
  const at = now + voteDelayMs(vote, seededRandom(`${state.self}|${messageId}`)(), state.settings.voteWindowMs)
  return sendDueVote({ ...state, unsentVote: { messageId, vote, at } }, now)
}

/** Our held vote, once its time came: sent if its line is still open and no better vote was seen. */
export function sendDueVote (state: TurnState, now: number): StepResult {
  const unsent = state.unsentVote
  if (unsent === null || now < unsent.at) return { state, effects: [] }
  const next = { ...state, unsentVote: null }
  if (state.turn?.message.id !== unsent.messageId || !couldWin(unsent.vote, votesFor(state.ballots, unsent.messageId))) return { state: next, effects: [] }
  return { state: next, effects: [{ type: 'publish-vote', state: stateOf(unsent.vote, unsent.messageId) }] }
}

/** Our brain writes the next line (answering `replyTo` with `vote`, or greeting `greet`). */
export function startWriting (state: TurnState, vote: Vote | null, replyTo: HistoryLine | null, greet: string | null, conversation: Conversation): StepResult {
  const id = state.writes + 1
  return {
    state: { ...state, writes: id, writing: { id, vote } },
    effects: [{ type: 'write', id, vote, replyTo, greet, after: state.head?.id ?? null, conversation }]
  }
}

/** Chooses the speaker for `message` from `votes`; only the chosen one writes. */
export function decide (state: TurnState, message: HistoryLine, votes: Vote[], by: DecidedBy, now: number): StepResult {
  // An aikyo leader's array is read by aikyo's rule, as aikyo's nodes read it.
  const winner = by === 'aikyo' ? aikyoSpeaker(votes, state.present) : selectSpeaker(votes.filter(v => state.present.includes(v.from)))
  const decided: TurnEffect = { type: 'decided', messageId: message.id, votes, speaker: winner?.from ?? null, by }
  const closed: TurnState = { ...state, turn: null, awaiting: null, aikyo: chosen(state.aikyo, winner, message.id, now) }
  if (winner === undefined || winner.closing === 'terminal') {
    const conversation: Conversation = { ...state.conversation, closing: winner === undefined ? state.conversation.closing : 'terminal', resting: true }
    const reason = winner === undefined ? 'nobody wants to speak' : 'the conversation reached terminal'
    return { state: { ...closed, conversation }, effects: [decided, { type: 'rest', reason }] }
  }
  const conversation: Conversation = CLOSING_ORDER[winner.closing] > CLOSING_ORDER[state.conversation.closing]
    ? { ...state.conversation, closing: winner.closing }
    : state.conversation
  const next: TurnState = { ...closed, conversation, awaiting: { message, votes, speaker: winner.from, since: now } }
  if (winner.from !== state.self) return { state: next, effects: [decided] }
  const written = startWriting(next, winner, message, null, conversation)
  return { state: written.state, effects: [decided, ...written.effects] }
}

/** The chosen speaker left or stayed silent too long: the next best vote speaks. */
export function passOver (state: TurnState, now: number): StepResult {
  const awaiting = state.awaiting
  if (awaiting === null) return { state, effects: [] }
  // Only ours can be told here (nothing is published): aikyo companions are passed over too.
  const votes = awaiting.votes.filter(v => v.from !== awaiting.speaker && !isAikyo(state.aikyo, v.from))
  const result = decide({ ...state, aikyo: passedOver(state.aikyo, awaiting.speaker) }, awaiting.message, votes, 'speaker-gone', now)
  // Our own silent write, if it was ours, is dropped.
  if (awaiting.speaker === state.self && state.writing !== null) {
    result.effects.unshift({ type: 'discard-line', id: state.writing.id, reason: 'took too long; the turn passed on' })
    if (result.state.writing?.id === state.writing.id) result.state = { ...result.state, writing: null }
  }
  return result
}

/** As this node leads the open turn: once every vote is in or the window closed, publish the decision. */
export function leaderMayDecide (state: TurnState, now: number): StepResult {
  const turn = state.turn
  if (turn === null || turn.decider !== 'ours' || turn.leader !== state.self || turn.decisionSent) return { state, effects: [] }
  const votes = turnVotes(state, turn)
  if (!allVoted(state, turn) && now < turn.openedAt + state.settings.voteWindowMs) return { state, effects: [] }
  const sent = { ...state, turn: { ...turn, decisionSent: true } }
  const publish = decisionToPublish(state.aikyo, votes, now)
  if (publish === undefined) return { state: sent, effects: [] }
  const states = publish.ordered.map(v => stateOf(v))
  const messageId = turn.message.id
  return { state: sent, effects: [publish.notBefore === undefined ? { type: 'publish-decision', messageId, states } : { type: 'publish-decision', messageId, states, notBefore: publish.notBefore }] }
}

/**
 * The votes for the open line: those of present voters, and for each aikyo
 * recipient (when ours decide) its stand-in, computed alike on every node.
 */
export function turnVotes (state: TurnState, turn: OpenTurn): Vote[] {
  const votes = votesFor(state.ballots, turn.message.id).filter(v => turn.voters.includes(v.from) && state.present.includes(v.from))
  if (turn.decider !== 'ours') return votes
  return [...votes, ...standIns(state.aikyo, turn, state.present, (id, name) => isSelected(turn.message, id, name), votedClosing('none', state))]
}

/** Every present voter of the open line voted. */
function allVoted (state: TurnState, turn: OpenTurn): boolean {
  const voted = new Set(votesFor(state.ballots, turn.message.id).map(v => v.from))
  return turn.voters.every(id => voted.has(id) || !state.present.includes(id))
}

/** Decide at once if every present recipient voted, or a held decision now matches. */
export function mayDecide (state: TurnState, now: number): StepResult {
  const led = leaderMayDecide(state, now)
  const turn = led.state.turn
  if (turn === null || turn.decider === 'aikyo') return led
  const votes = turnVotes(led.state, turn)
  if (allVoted(led.state, turn)) {
    const decided = decide(led.state, turn.message, votes, 'votes', now)
    return { state: decided.state, effects: [...led.effects, ...decided.effects] }
  }
  const held = turn.held.find(d => matches(d, votes) && !matchesOtherLine(led.state.ballots, d, turn.message.id))
  if (held !== undefined) {
    const decided = decide(led.state, turn.message, held, 'leader', now)
    return { state: decided.state, effects: [...led.effects, ...decided.effects] }
  }
  return led
}
