/**
 * Turn-taking as a pure reducer: `step(state, event, now)` returns the next
 * state and the effects to run (ask the brain, publish a vote or a line).
 * No clock, no network, no brain: `companion.ts` feeds it events and runs
 * its effects, and the tests drive several of them through a simulated bus.
 * Its state and events are in turn-state.ts, the reply tree's fork choice in
 * reply-tree.ts, the leader election and decision matching in decisions.ts.
 *
 * How one turn goes (every node runs the same rules):
 * 1. A line arrives on `messages`. If it answers the line the conversation
 *    hangs on (the head), it becomes the head and opens a turn. Lines carry
 *    `metadata.replyTo` (the head their writer saw), so every node settles
 *    two lines written at the same time the same way, whatever order they
 *    arrive in: a person's line beats a companion's, else the smaller id
 *    wins, and the loser is history but opens no turn. That is why a person's
 *    interjection never starts a second, parallel conversation. The turn's
 *    recipients are the companions in `to` that are present (everyone
 *    present when `to` is empty), minus the sender.
 * 2. Each recipient judges its own vote and publishes it as ONE state object
 *    carrying `messageId` (a vote).
 * 3. One recipient, the leader (elected as aikyo 1.6 does: md5 of the line
 *    mod the number of recipients), collects the votes until all recipients
 *    voted or `voteWindowMs` passed, then publishes them as an ARRAY of states
 *    without `messageId` (a decision), exactly the shape aikyo's leader
 *    publishes, so aikyo nodes act on our decisions and we on theirs.
 * 4. The speaker is `selectSpeaker(votes)`; only that companion writes the
 *    next line. Every node decides at once when it holds the votes of every
 *    present recipient (the same set everywhere, so the same speaker).
 *    Otherwise it applies the leader's decision, recognised by content: an
 *    array is for the open turn when its entries are the votes seen for that
 *    line, and is held while they are still on their way. If the leader never
 *    decides (its tab closed), every node decides from the votes it saw,
 *    `decisionGraceMs` after the window; a held decision that fits no other
 *    line (aikyo's leader judges for everyone, so its entries are its own)
 *    is applied then.
 * 5. The conversation walks none, pre-closing, closing, terminal; once begun
 *    the walk goes on, and a turn limit or repetitive lines begin it. A
 *    terminal speaker (or no speaker) ends the conversation: it rests until
 *    someone speaks again.
 */
import type { Message, State } from '../protocol/payloads.ts'
import { AIKYO_CALL_GUESS_MS, afterLine, aikyoSpeaker, bestFirst, electionPool, sawCall, standInVote } from './aikyo.ts'
import { contradicts, electLeader, matches, matchesOtherLine, votesFor } from './decisions.ts'
import { isPerson, takesOver } from './reply-tree.ts'
import type { Seen } from './reply-tree.ts'
import { REPETITION_THRESHOLD, nextClosingStage, repetitionScore, selectSpeaker } from './speaker-selection.ts'
import type { ClosingStage, Vote } from './speaker-selection.ts'
import { BALLOT_LIMIT, HISTORY_LIMIT, SEEN_LIMIT } from './turn-state.ts'
import type { Conversation, DecidedBy, HistoryLine, Judgement, OpenTurn, StepResult, TurnEffect, TurnEvent, TurnState } from './turn-state.ts'

const isAikyo = (state: Pick<TurnState, 'aikyo'>, id: string): boolean => Object.hasOwn(state.aikyo, id)
/** Decisions owed by aikyo leaders that are remembered at most. */
const AIKYO_OWED_LIMIT = 16

/** Who a line addresses: present companions named in `to` (all present ones if `to` is empty), minus the sender. */
export function recipientsOf (message: HistoryLine, present: readonly string[]): string[] {
  const addressed = message.to.length === 0 ? [...present].sort() : message.to.filter(id => present.includes(id))
  return [...new Set(addressed)].filter(id => id !== message.from)
}

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

function toHistoryLine (message: Message): HistoryLine {
  const { id, from, to, message: text, metadata } = message.params
  const replyTo = metadata?.replyTo
  return typeof replyTo === 'string' ? { id, from, to, text, replyTo } : { id, from, to, text }
}

function stateOf (vote: Vote, messageId?: string): State {
  // Exactly aikyo's fields (it validates strictly); `messageId` only on votes.
  const params: State['params'] = {
    from: vote.from, state: vote.state, importance: vote.importance, selected: vote.selected, closing: vote.closing
  }
  if (messageId !== undefined) params.messageId = messageId
  return { jsonrpc: '2.0', method: 'state.send', params }
}

/**
 * When every aikyo companion `message` addresses is free of its model (one
 * that just said a line makes one more call), if any is busy: published
 * before, the line would be dropped by its aikyo leader, or its decision by
 * the aikyo companion it chose; so its writer waits till then.
 */
export function aikyoFreeAt (state: TurnState, message: Message): number | undefined {
  const addressed = message.params.to.filter(id => isAikyo(state, id) && state.present.includes(id))
  const times = addressed.flatMap(id => state.aikyoTiming[id] === undefined ? [] : [state.aikyoTiming[id].freeAt])
  return times.length === 0 ? undefined : Math.max(...times)
}

/** The earliest time at which `tick` has something to do, if any. */
export function nextDeadline (state: TurnState): number | undefined {
  const turn = state.turn
  if (state.awaiting !== null) return state.awaiting.since + state.settings.lineTimeoutMs
  if (turn === null) return undefined
  const { voteWindowMs, decisionGraceMs } = state.settings
  if (turn.decider === 'aikyo') return turn.waitUntil ?? turn.openedAt + state.settings.aikyoDecisionMs
  if (turn.leader === state.self && !turn.decisionSent) return turn.openedAt + voteWindowMs
  return turn.openedAt + voteWindowMs + decisionGraceMs
}

/**
 * What a line tells about aikyo companions: its writer, if one of aikyo's,
 * is done writing and busy with one more model call; debts older than
 * `aikyoDecisionMs` are dropped (the line they were for was dropped).
 */
function aikyoAfterLine (state: TurnState, line: HistoryLine, now: number): Pick<TurnState, 'aikyoWriting' | 'aikyoOwed' | 'aikyoTiming'> {
  const aikyoWriting = Object.fromEntries(Object.entries(state.aikyoWriting).filter(([id, since]) => id !== line.from && since > now - state.settings.lineTimeoutMs))
  // A line that answers the line a leader owes a decision for (ours say
  // which; aikyo's answer the open turn) tells that the leader decided.
  const answers = line.replyTo ?? (isAikyo(state, line.from) ? state.turn?.message.id : undefined)
  const aikyoOwed = state.aikyoOwed.filter(o => o.since > now - state.settings.aikyoDecisionMs)
    .map(o => o.line === answers ? { ...o, answered: true } : o)
  if (!isAikyo(state, line.from)) return { aikyoWriting, aikyoOwed, aikyoTiming: state.aikyoTiming }
  const writing = state.awaiting?.speaker === line.from ? now - state.awaiting.since : undefined
  return { aikyoWriting, aikyoOwed, aikyoTiming: { ...state.aikyoTiming, [line.from]: afterLine(state.aikyoTiming[line.from], writing, now) } }
}

/**
 * The aikyo companion that will decide `message`: aikyo's leader (its
 * election over what aikyo counts), when that is an aikyo companion that is
 * not writing its own line (then it drops the line). aikyo ignores a line to
 * nobody (ours: to everyone).
 */
function aikyoLeaderOf (state: TurnState, message: Message, writing: TurnState['aikyoWriting']): string | undefined {
  const line = toHistoryLine(message)
  if (line.to.length === 0) return undefined
  const leader = electLeader(message, electionPool(line, state.present, recipientsOf(line, state.present)))
  return leader !== undefined && isAikyo(state, leader) && !Object.hasOwn(writing, leader) ? leader : undefined
}

function onMessage (state: TurnState, message: Message, now: number): StepResult {
  const line = toHistoryLine(message)
  if (state.seen.some(h => h.id === line.id)) return { state, effects: [] } // a duplicate delivery
  const history = [...state.history, line].slice(-HISTORY_LIMIT)
  const node: Seen = line.replyTo === undefined ? { id: line.id, from: line.from } : { id: line.id, from: line.from, replyTo: line.replyTo }
  const seen = [...state.seen, node].slice(-SEEN_LIMIT)
  // An aikyo leader decides every line to it, whether or not it opens a turn here: it owes that decision.
  const aikyo = aikyoAfterLine(state, line, now)
  const aikyoLeader = aikyoLeaderOf(state, message, aikyo.aikyoWriting)
  if (aikyoLeader !== undefined) aikyo.aikyoOwed = [...aikyo.aikyoOwed, { leader: aikyoLeader, line: line.id, to: line.to, since: now, answered: false }].slice(-AIKYO_OWED_LIMIT)
  // After a rest any line starts the next conversation; during one, the fork choice decides.
  if (!state.conversation.resting && !takesOver(line, state.head, state.present, seen)) return { state: { ...state, ...aikyo, history, seen }, effects: [] }

  const effects: TurnEffect[] = []
  // A person's line, or any line after a rest, starts a new conversation.
  const fresh = state.conversation.resting || isPerson(line.from, state.present)
  let conversation: Conversation = fresh
    ? { lines: 1, closing: 'none', resting: false }
    : { ...state.conversation, lines: state.conversation.lines + 1 }

  // The conversation moved on: a line being written answers something older.
  let writing = state.writing
  if (writing !== null) {
    effects.push({ type: 'discard-line', id: writing.id, reason: 'another line arrived while writing' })
    writing = null
  }

  const recipients = recipientsOf(line, state.present)
  const voters = recipients.filter(id => !isAikyo(state, id))
  // aikyo's leader decides; else ours, elected among our voters as aikyo would.
  const decider: OpenTurn['decider'] = aikyoLeader !== undefined && recipients.length > 0 ? 'aikyo' : 'ours'
  const leader = decider === 'aikyo' ? aikyoLeader : electLeader(message, voters)
  let turn: OpenTurn | null = null
  let judging: string | null = null
  if (leader === undefined) {
    conversation = { ...conversation, resting: true }
    effects.push({ type: 'rest', reason: recipients.length === 0 ? 'nobody present was addressed' : 'only aikyo companions were addressed, and none of them will decide it (busy writing, or the line is to nobody)' })
  } else {
    turn = { message: line, recipients, voters, leader, decider, openedAt: now, decisionSent: false, held: [] }
    if (decider === 'ours' && voters.includes(state.self)) {
      judging = line.id
      effects.push({ type: 'judge', message: line, selected: isSelected(line, state.self, state.selfName), conversation })
    }
  }
  const next: TurnState = { ...state, ...aikyo, history, seen, head: line, conversation, turn, awaiting: null, judging, writing }
  // Votes may have come before their line (gossip paths differ).
  const early = mayDecide(next, now)
  return { state: early.state, effects: [...effects, ...early.effects] }
}

function startWriting (state: TurnState, vote: Vote | null, replyTo: HistoryLine | null, greet: string | null, conversation: Conversation): StepResult {
  const id = state.writes + 1
  return {
    state: { ...state, writes: id, writing: { id, vote } },
    effects: [{ type: 'write', id, vote, replyTo, greet, after: state.head?.id ?? null, conversation }]
  }
}

/** Chooses the speaker for `message` from `votes`; only the chosen one writes. */
function decide (state: TurnState, message: HistoryLine, votes: Vote[], by: DecidedBy, now: number): StepResult {
  // An aikyo leader's array is read by aikyo's rule, as aikyo's nodes read it.
  const winner = by === 'aikyo' ? aikyoSpeaker(votes, state.present) : selectSpeaker(votes.filter(v => state.present.includes(v.from)))
  const decided: TurnEffect = { type: 'decided', messageId: message.id, votes, speaker: winner?.from ?? null, by }
  // An aikyo speaker is busy writing until its line comes; unless it was
  // busy deciding another line when chosen (then it may have dropped this).
  const deciding = winner !== undefined && state.aikyoOwed.some(o => o.leader === winner.from && !o.answered && o.line !== message.id)
  const aikyoWriting = winner !== undefined && winner.closing !== 'terminal' && isAikyo(state, winner.from) && !deciding ? { ...state.aikyoWriting, [winner.from]: now } : state.aikyoWriting
  const closed: TurnState = { ...state, turn: null, awaiting: null, aikyoWriting }
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
function passOver (state: TurnState, now: number): StepResult {
  const awaiting = state.awaiting
  if (awaiting === null) return { state, effects: [] }
  // Only ours can be told here (nothing is published): aikyo companions are passed over too.
  const votes = awaiting.votes.filter(v => v.from !== awaiting.speaker && !isAikyo(state, v.from))
  const aikyoWriting = Object.fromEntries(Object.entries(state.aikyoWriting).filter(([id]) => id !== awaiting.speaker))
  const result = decide({ ...state, aikyoWriting }, awaiting.message, votes, 'speaker-gone', now)
  // Our own silent write, if it was ours, is dropped.
  if (awaiting.speaker === state.self && state.writing !== null) {
    result.effects.unshift({ type: 'discard-line', id: state.writing.id, reason: 'took too long; the turn passed on' })
    if (result.state.writing?.id === state.writing.id) result.state = { ...result.state, writing: null }
  }
  return result
}

function leaderMayDecide (state: TurnState, now: number): StepResult {
  const turn = state.turn
  if (turn === null || turn.decider !== 'ours' || turn.leader !== state.self || turn.decisionSent) return { state, effects: [] }
  const votes = turnVotes(state, turn)
  if (!allVoted(state, turn) && now < turn.openedAt + state.settings.voteWindowMs) return { state, effects: [] }
  const sent = { ...state, turn: { ...turn, decisionSent: true } }
  // Nobody of ours voted: publish nothing (an empty array could end a newer turn); everyone falls back.
  if (votes.every(v => isAikyo(state, v.from))) return { state: sent, effects: [] }
  // Best first: aikyo's nodes, which take the first of equals, pick what we pick.
  const ordered = bestFirst(votes)
  const states = ordered.map(v => stateOf(v))
  // An aikyo speaker still busy with its model would drop the decision: publish it when it is free.
  const winner = selectSpeaker(ordered)
  const freeAt = winner === undefined || !isAikyo(state, winner.from) ? undefined : state.aikyoTiming[winner.from]?.freeAt
  const messageId = turn.message.id
  return { state: sent, effects: [freeAt !== undefined && freeAt > now ? { type: 'publish-decision', messageId, states, notBefore: freeAt } : { type: 'publish-decision', messageId, states }] }
}

/**
 * The votes for the open line: those of present voters, and for each aikyo
 * recipient (when ours decide) its stand-in, computed alike on every node.
 */
function turnVotes (state: TurnState, turn: OpenTurn): Vote[] {
  const votes = votesFor(state.ballots, turn.message.id).filter(v => turn.voters.includes(v.from) && state.present.includes(v.from))
  if (turn.decider !== 'ours') return votes
  const standIns = turn.recipients.filter(id => isAikyo(state, id) && state.present.includes(id))
    .map(id => standInVote(id, isSelected(turn.message, id, state.aikyo[id]), votedClosing('none', state)))
  return [...votes, ...standIns]
}

/** Every present voter of the open line voted. */
function allVoted (state: TurnState, turn: OpenTurn): boolean {
  const voted = new Set(votesFor(state.ballots, turn.message.id).map(v => v.from))
  return turn.voters.every(id => voted.has(id) || !state.present.includes(id))
}

/** Decide at once if every present recipient voted, or a held decision now matches. */
function mayDecide (state: TurnState, now: number): StepResult {
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

function onStates (state: TurnState, states: State[], author: string | undefined, now: number): StepResult {
  const votes = states.filter(s => s.params.messageId !== undefined)
  if (votes.length === 0) {
    if (author !== undefined && isAikyo(state, author)) return onAikyoDecision(state, states.map(s => s.params), author, now)
    return onDecision(state, states.map(s => s.params), now)
  }
  const ballots = [...state.ballots, ...votes.map(s => ({ messageId: s.params.messageId as string, vote: s.params }))].slice(-BALLOT_LIMIT)
  if (yielded(state, votes)) return passOver({ ...state, ballots }, now)
  return mayDecide({ ...state, ballots }, now)
}

/**
 * An array published by an aikyo companion: a decision it owed as leader
 * (matched to the line whose addressees it judged; how long it took tells
 * how long its model takes). It decides the open turn if that is the line
 * it was for (or, when aikyo counted other cards than we do, an aikyo-led
 * turn whose addressees it judged); a late one for an older line decides
 * nothing; a turn ours decide goes on without it.
 */
function onAikyoDecision (state: TurnState, decision: Vote[], author: string, now: number): StepResult {
  const turn = state.turn
  // The decision it owes for the line whose addressees the array judges (aikyo judges each of `to`), the oldest first.
  const judged = JSON.stringify(decision.map(d => d.from).sort())
  const index = state.aikyoOwed.findIndex(o => o.leader === author && JSON.stringify([...o.to].sort()) === judged)
  const debt = index === -1 ? undefined : state.aikyoOwed[index]
  const aikyoOwed = debt === undefined ? state.aikyoOwed : state.aikyoOwed.filter((_, i) => i !== index)
  // From the line to its decision: one model call of that leader.
  const aikyoTiming = debt === undefined ? state.aikyoTiming : { ...state.aikyoTiming, [author]: sawCall(state.aikyoTiming[author], now - debt.since) }
  const next: TurnState = { ...state, aikyoOwed, aikyoTiming }
  if (turn === null || turn.decider !== 'aikyo') return { state: next, effects: [] }
  if (debt !== undefined) {
    if (debt.line !== turn.message.id) {
      // An older line's, come late. If nobody had answered it yet, the
      // leader was still deciding it when this line came, and may have
      // dropped this one: once it owes nothing older, we wait one of its
      // model calls for this line's decision.
      const older = aikyoOwed.some(o => o.leader === author && !o.answered && o.since < turn.openedAt)
      if (turn.leader !== author || debt.answered || older) return { state: next, effects: [] }
      const call = aikyoTiming[author]?.callMs ?? AIKYO_CALL_GUESS_MS
      return { state: { ...next, turn: { ...turn, waitUntil: Math.min(turn.openedAt + state.settings.aikyoDecisionMs, now + 1.5 * call + 500) } }, effects: [] }
    }
  } else if (turn.leader === author || judged !== JSON.stringify([...turn.message.to].sort())) {
    // Owed for no line we know: not this one (its leader owes it; or it judged other addressees).
    return { state: next, effects: [] }
  }
  // Not owed but judging this line's addressees: an aikyo node that counted other cards than we do.
  return decide(next, turn.message, decision, 'aikyo', now)
}

/**
 * An array without messageId: a leader's decision, ours or aikyo's. Applied
 * if it is made of the votes seen for the open line; ignored if it is
 * plainly for another line (it holds a vote of the open line's sender, who
 * never votes on its own line, or names none of its recipients, or is made
 * of another line's votes); held otherwise, until its votes arrive or the
 * fallback deadline.
 */
function onDecision (state: TurnState, decision: Vote[], now: number): StepResult {
  const turn = state.turn
  if (turn === null || turn.decider === 'aikyo' || decision.length === 0) return { state, effects: [] }
  if (decision.some(v => v.from === turn.message.from)) return { state, effects: [] }
  if (!decision.some(v => turn.recipients.includes(v.from))) return { state, effects: [] }
  const other = matchesOtherLine(state.ballots, decision, turn.message.id)
  if (matches(decision, turnVotes(state, turn))) {
    // The same votes were seen for another line too: wait until it is clear (all votes in, or the fallback).
    if (!other) return decide(state, turn.message, decision, 'leader', now)
  } else if (other) {
    return { state, effects: [] }
  }
  // From voters that never send single votes (aikyo's leader judges for all of them): apply now.
  if (!other && !decision.some(d => state.ballots.some(b => b.vote.from === d.from))) return decide(state, turn.message, decision, 'leader', now)
  return { state: { ...state, turn: { ...turn, held: [...turn.held, decision].slice(-4) } }, effects: [] }
}

function onJudged (state: TurnState, messageId: string, judgement: Judgement | null): StepResult {
  if (state.judging !== messageId) return { state, effects: [] }
  const turn = state.turn
  const cleared = { ...state, judging: null }
  if (turn === null || turn.message.id !== messageId) return { state: cleared, effects: [] }
  // A brain that failed listens: it still votes, so nobody waits for it.
  const j: Judgement = judgement ?? { state: 'listen', importance: 0, closing: 'none' }
  const speak = j.state === 'speak'
  const vote: Vote = {
    from: state.self,
    state: j.state,
    importance: speak ? Math.round(Math.min(10, Math.max(0, Number.isFinite(j.importance) ? j.importance : 0))) : 0,
    selected: isSelected(turn.message, state.self, state.selfName),
    closing: votedClosing(j.closing, state)
  }
  return { state: cleared, effects: [{ type: 'publish-vote', state: stateOf(vote, messageId) }] }
}

function onWritten (state: TurnState, id: number, ok: boolean, now: number): StepResult {
  if (state.writing === null || state.writing.id !== id) return { state, effects: [] } // a discarded write
  const cleared = { ...state, writing: null }
  if (ok) return { state: cleared, effects: [{ type: 'publish-line', id }] }
  const discard: TurnEffect = { type: 'discard-line', id, reason: 'the brain could not write a line' }
  const awaiting = state.awaiting
  if (awaiting === null || awaiting.speaker !== state.self) return { state: cleared, effects: [discard] }
  // We were chosen and cannot speak: say so with a `listen` vote for the line
  // (others then pass over at once, not after lineTimeoutMs), and pass over.
  const own = awaiting.votes.find(v => v.from === state.self)
  const retraction = stateOf({ from: state.self, state: 'listen', importance: 0, selected: own?.selected ?? false, closing: own?.closing ?? 'none' }, awaiting.message.id)
  const passed = passOver(cleared, now)
  return { state: passed.state, effects: [discard, { type: 'publish-vote', state: retraction }, ...passed.effects] }
}

/** The chosen speaker voted `listen` for the line it was chosen for: it yields the turn. */
function yielded (state: TurnState, votes: State[]): boolean {
  const awaiting = state.awaiting
  return awaiting !== null && votes.some(v => v.params.messageId === awaiting.message.id && v.params.from === awaiting.speaker && v.params.state === 'listen')
}

function onPresence (state: TurnState, present: string[], aikyo: Record<string, string>, now: number): StepResult {
  const next = { ...state, present: [...new Set([state.self, ...present])], aikyo }
  const joined = next.present.filter(id => !state.present.includes(id))
  // Greet a newcomer when nothing is going on. One greeter: the smallest id of
  // everyone now present, who greets the smallest of those who joined. Two
  // companions meeting both see the other join; this way only one greets.
  const idle = state.conversation.resting && state.turn === null && state.awaiting === null && state.writing === null
  const others = joined.filter(id => id !== state.self)
  // The greeter is one of ours (aikyo's do not greet).
  if (others.length > 0 && idle && next.present.filter(id => !isAikyo(next, id)).sort()[0] === state.self) {
    return startWriting(next, null, null, [...others].sort()[0], { lines: 0, closing: 'none', resting: false })
  }
  // The chosen speaker left: the next best speaks.
  if (next.awaiting !== null && !next.present.includes(next.awaiting.speaker)) return passOver(next, now)
  // The aikyo companion that was to decide left.
  if (next.turn?.decider === 'aikyo' && !next.present.includes(next.turn.leader)) return withoutAikyoLeader(next, next.turn, now)
  // Someone left: the votes in may now be all there will be.
  return mayDecide(next, now)
}

/**
 * The aikyo leader of the open turn will not decide (it left, or said
 * nothing in `aikyoDecisionMs`): our voters decide among themselves, the
 * leader elected among them, from now.
 */
function withoutAikyoLeader (before: TurnState, turn: OpenTurn, now: number): StepResult {
  const state: TurnState = { ...before, aikyoOwed: before.aikyoOwed.filter(o => o.line !== turn.message.id) }
  const message: Message = { jsonrpc: '2.0', method: 'message.send', params: { id: turn.message.id, from: turn.message.from, to: turn.message.to, message: turn.message.text } }
  const voters = turn.voters.filter(id => state.present.includes(id))
  const leader = electLeader(message, voters)
  if (leader === undefined) {
    const conversation: Conversation = { ...state.conversation, resting: true }
    return { state: { ...state, turn: null, conversation }, effects: [{ type: 'rest', reason: 'the aikyo companion that would decide did not, and nobody else was addressed' }] }
  }
  const next: TurnState = { ...state, turn: { ...turn, leader, decider: 'ours', openedAt: now, decisionSent: false, held: [] } }
  if (!voters.includes(state.self)) return mayDecide(next, now)
  return { state: { ...next, judging: turn.message.id }, effects: [{ type: 'judge', message: turn.message, selected: isSelected(turn.message, state.self, state.selfName), conversation: state.conversation }] }
}

function onTick (state: TurnState, now: number): StepResult {
  const turn = state.turn
  if (state.awaiting !== null && now >= state.awaiting.since + state.settings.lineTimeoutMs) return passOver(state, now)
  if (turn === null) return { state, effects: [] }
  if (turn.decider === 'aikyo') return now >= (turn.waitUntil ?? turn.openedAt + state.settings.aikyoDecisionMs) ? withoutAikyoLeader(state, turn, now) : { state, effects: [] }
  if (turn.leader === state.self && !turn.decisionSent) return leaderMayDecide(state, now)
  if (now >= turn.openedAt + state.settings.voteWindowMs + state.settings.decisionGraceMs) {
    const votes = turnVotes(state, turn)
    const held = turn.held.findLast(d => !contradicts(d, votes) && !matchesOtherLine(state.ballots, d, turn.message.id))
    return held === undefined ? decide(state, turn.message, votes, 'fallback', now) : decide(state, turn.message, held, 'leader', now)
  }
  return { state, effects: [] }
}

/**
 * Lines from before this companion came: they become history (a brain's
 * context) and known lines (a late copy of one is a duplicate), placed before
 * anything heard live. They open no turn: that conversation is over, or goes
 * on with the next line.
 */
function onRemembered (state: TurnState, messages: Message[]): StepResult {
  const known = new Set(state.seen.map(s => s.id))
  const lines = messages.map(toHistoryLine).filter((line) => {
    if (known.has(line.id)) return false // heard live already, or twice in the history
    known.add(line.id)
    return true
  })
  if (lines.length === 0) return { state, effects: [] }
  const seen: Seen[] = lines.map(l => l.replyTo === undefined ? { id: l.id, from: l.from } : { id: l.id, from: l.from, replyTo: l.replyTo })
  return {
    state: { ...state, history: [...lines, ...state.history].slice(-HISTORY_LIMIT), seen: [...seen, ...state.seen].slice(-SEEN_LIMIT) },
    effects: []
  }
}

export function step (state: TurnState, event: TurnEvent, now: number): StepResult {
  switch (event.type) {
    case 'message': return onMessage(state, event.message, now)
    case 'remembered': return onRemembered(state, event.messages)
    case 'states': return onStates(state, event.states, event.author, now)
    case 'judged': return onJudged(state, event.messageId, event.judgement)
    case 'written': return onWritten(state, event.id, event.ok, now)
    case 'presence': return onPresence(state, event.present, event.aikyo ?? {}, now)
    case 'tick': return onTick(state, now)
  }
}
