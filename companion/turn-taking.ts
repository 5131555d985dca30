/**
 * Turn-taking as a pure reducer: `step(state, event, now)` returns the next
 * state and the effects to run (ask the brain, publish a vote or a line).
 * No clock, no network, no brain: `companion.ts` feeds it events and runs
 * its effects, and the tests drive several of them through a simulated bus.
 * Its state and events are in turn-state.ts, the reply tree's fork choice in
 * reply-tree.ts, the leader election and decision matching in decisions.ts,
 * choosing the speaker from the votes in turn-decision.ts, and what sharing
 * turns with aikyo companions asks of it behind the seam in aikyo-turns.ts.
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
 *    carrying `messageId` (a vote); in a named room only one that can still
 *    be chosen (turn-decision.ts `castVote`), so the turn is decided when the
 *    window closes (step 3) unless every recipient voted.
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
import { isDecision } from '../protocol/payloads.ts'
import type { Message, State } from '../protocol/payloads.ts'
import { arrayArrived, decisionDeadline, isAikyo, leaderGone, lineArrived } from './aikyo-turns.ts'
import { contradicts, electLeader, electionHash, electionPool, matches, matchesOtherLine, recipientsOf } from './decisions.ts'
import { isPerson, seenOf, takesOver } from './reply-tree.ts'
import type { Vote } from './speaker-selection.ts'
import { castVote, decide, isSelected, leaderMayDecide, mayDecide, passOver, sendDueVote, startWriting, stateOf, turnVotes, votedClosing } from './turn-decision.ts'
import { BALLOT_LIMIT, HISTORY_LIMIT, SEEN_LIMIT, historyLineOf } from './turn-state.ts'
import type { Conversation, Judgement, OpenTurn, StepResult, TurnEffect, TurnEvent, TurnState } from './turn-state.ts'

/** The earliest time at which `tick` has something to do, if any. */
export function nextDeadline (state: TurnState): number | undefined {
  const times = [nextTurnDeadline(state), state.unsentVote?.at].filter((t): t is number => t !== undefined)
  return times.length === 0 ? undefined : Math.min(...times)
}

function nextTurnDeadline (state: TurnState): number | undefined {
  const turn = state.turn
  if (state.awaiting !== null) return state.awaiting.since + state.settings.lineTimeoutMs
  if (turn === null) return undefined
  const { voteWindowMs, decisionGraceMs } = state.settings
  if (turn.decider === 'aikyo') return decisionDeadline(turn, state.settings)
  if (turn.leader === state.self && !turn.decisionSent) return turn.openedAt + voteWindowMs
  return turn.openedAt + voteWindowMs + decisionGraceMs
}

function onMessage (state: TurnState, message: Message, now: number): StepResult {
  const line = historyLineOf(message)
  if (state.seen.some(h => h.id === line.id)) return { state, effects: [] } // a duplicate delivery
  const history = [...state.history, line].slice(-HISTORY_LIMIT)
  const seen = [...state.seen, seenOf(line)].slice(-SEEN_LIMIT)
  // One election for the line, from the bytes it came with: aikyo's leader, or ours among our voters.
  const hash = electionHash(message)
  const pool = electionPool(line, state.present)
  const context = { present: state.present, elected: electLeader(hash, pool), openLine: state.turn?.message.id, awaiting: state.awaiting, settings: state.settings }
  const { aikyo, leader: aikyoLeader } = lineArrived(state.aikyo, line, context, now)
  // After a rest any line starts the next conversation; during one, the fork choice decides.
  if (!state.conversation.resting && !takesOver(line, state.head, state.present, seen)) return { state: { ...state, aikyo, history, seen }, effects: [] }

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
  const voters = recipients.filter(id => !isAikyo(aikyo, id))
  const decider: OpenTurn['decider'] = aikyoLeader !== undefined && recipients.length > 0 ? 'aikyo' : 'ours'
  const leader = decider === 'aikyo' ? aikyoLeader : electLeader(hash, pool.filter(id => voters.includes(id)))
  let turn: OpenTurn | null = null
  let judging: string | null = null
  if (leader === undefined) {
    conversation = { ...conversation, resting: true }
    effects.push({ type: 'rest', reason: recipients.length === 0 ? 'nobody present was addressed' : 'only aikyo companions were addressed, and none of them will decide it (busy writing, or the line is to nobody)' })
  } else {
    turn = { message: line, recipients, voters, leader, electionHash: hash, decider, openedAt: now, decisionSent: false, held: [] }
    if (decider === 'ours' && voters.includes(state.self)) {
      judging = line.id
      effects.push({ type: 'judge', message: line, selected: isSelected(line, state.self, state.selfName), conversation })
    }
  }
  const next: TurnState = { ...state, aikyo, history, seen, head: line, conversation, turn, awaiting: null, judging, writing }
  // Votes may have come before their line (gossip paths differ).
  const early = mayDecide(next, now)
  return { state: early.state, effects: [...effects, ...early.effects] }
}

function onStates (state: TurnState, states: State[], author: string | undefined, now: number): StepResult {
  if (isDecision(states)) {
    if (author !== undefined && isAikyo(state.aikyo, author)) return onAikyoArray(state, states.map(s => s.params), author, now)
    return onDecision(state, states.map(s => s.params), now)
  }
  const votes = states.filter(s => s.params.messageId !== undefined)
  if (votes.length === 0) return { state, effects: [] }
  const ballots = [...state.ballots, ...votes.map(s => ({ messageId: s.params.messageId as string, vote: s.params }))].slice(-BALLOT_LIMIT)
  if (yielded(state, votes)) return passOver({ ...state, ballots }, now)
  return mayDecide({ ...state, ballots }, now)
}

/** An array an aikyo companion published: what counts of it is aikyo-turns.ts's to say. */
function onAikyoArray (state: TurnState, decision: Vote[], author: string, now: number): StepResult {
  const { aikyo, verdict } = arrayArrived(state.aikyo, decision, author, state.turn, state.present, state.settings, now)
  const next: TurnState = { ...state, aikyo }
  const turn = state.turn
  if (verdict.type === 'aikyo-writes') return aikyoWrites(next, decision, now)
  if (turn === null || verdict.type === 'ignore') return { state: next, effects: [] }
  if (verdict.type === 'wait') return { state: { ...next, turn: { ...turn, waitUntil: verdict.until } }, effects: [] }
  return decide(next, turn.message, decision, 'aikyo', now)
}

/**
 * An aikyo companion writes on an array for another line (aikyo's nodes act
 * on every array): its line will answer the line the conversation hangs on,
 * so it is that line's speaker. The open turn is decided by the array (by
 * aikyo's rule: that companion); a speaker already chosen yields to it, and
 * our line being written is dropped. When nothing is going on, its line will
 * start the next conversation.
 */
function aikyoWrites (state: TurnState, decision: Vote[], now: number): StepResult {
  const line = state.turn?.message ?? state.awaiting?.message
  if (line === undefined) return { state, effects: [] }
  const own = state.writing
  const yielded: TurnState = own === null ? state : { ...state, writing: null }
  const decided = decide(yielded, line, decision, 'aikyo', now)
  if (own === null) return decided
  return { state: decided.state, effects: [{ type: 'discard-line', id: own.id, reason: 'an aikyo companion was chosen by a decision of its own and writes the answer' }, ...decided.effects] }
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

function onJudged (state: TurnState, messageId: string, judgement: Judgement | null, now: number): StepResult {
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
  return castVote(cleared, vote, messageId, now)
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
  const next = { ...state, present: [...new Set([state.self, ...present])], aikyo: { ...state.aikyo, names: aikyo } }
  const joined = next.present.filter(id => !state.present.includes(id))
  // Greet a newcomer when nothing is going on. One greeter: the smallest id of
  // everyone now present, who greets the smallest of those who joined. Two
  // companions meeting both see the other join; this way only one greets.
  const idle = state.conversation.resting && state.turn === null && state.awaiting === null && state.writing === null
  const others = joined.filter(id => id !== state.self)
  // The greeter is one of ours (aikyo's do not greet).
  if (others.length > 0 && idle && next.present.filter(id => !isAikyo(next.aikyo, id)).sort()[0] === state.self) {
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
 * leader elected among them from the line's own election, from now.
 */
function withoutAikyoLeader (before: TurnState, turn: OpenTurn, now: number): StepResult {
  const state: TurnState = { ...before, aikyo: leaderGone(before.aikyo, turn.message.id) }
  const voters = turn.voters.filter(id => state.present.includes(id))
  const leader = electLeader(turn.electionHash, electionPool(turn.message, state.present).filter(id => voters.includes(id)))
  if (leader === undefined) {
    const conversation: Conversation = { ...state.conversation, resting: true }
    return { state: { ...state, turn: null, conversation }, effects: [{ type: 'rest', reason: 'the aikyo companion that would decide did not, and nobody else was addressed' }] }
  }
  const next: TurnState = { ...state, turn: { ...turn, leader, decider: 'ours', openedAt: now, decisionSent: false, held: [] } }
  if (!voters.includes(state.self)) return mayDecide(next, now)
  return { state: { ...next, judging: turn.message.id }, effects: [{ type: 'judge', message: turn.message, selected: isSelected(turn.message, state.self, state.selfName), conversation: state.conversation }] }
}

function onTick (before: TurnState, now: number): StepResult {
  const sent = sendDueVote(before, now)
  const ticked = tickTurn(sent.state, now)
  return { state: ticked.state, effects: [...sent.effects, ...ticked.effects] }
}

function tickTurn (state: TurnState, now: number): StepResult {
  const turn = state.turn
  if (state.awaiting !== null && now >= state.awaiting.since + state.settings.lineTimeoutMs) return passOver(state, now)
  if (turn === null) return { state, effects: [] }
  if (turn.decider === 'aikyo') return now >= decisionDeadline(turn, state.settings) ? withoutAikyoLeader(state, turn, now) : { state, effects: [] }
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
  const lines = messages.map(historyLineOf).filter((line) => {
    if (known.has(line.id)) return false // heard live already, or twice in the history
    known.add(line.id)
    return true
  })
  if (lines.length === 0) return { state, effects: [] }
  return {
    state: { ...state, history: [...lines, ...state.history].slice(-HISTORY_LIMIT), seen: [...lines.map(seenOf), ...state.seen].slice(-SEEN_LIMIT) },
    effects: []
  }
}

export function step (state: TurnState, event: TurnEvent, now: number): StepResult {
  switch (event.type) {
    case 'message': return onMessage(state, event.message, now)
    case 'remembered': return onRemembered(state, event.messages)
    case 'states': return onStates(state, event.states, event.author, now)
    case 'judged': return onJudged(state, event.messageId, event.judgement, now)
    case 'written': return onWritten(state, event.id, event.ok, now)
    case 'presence': return onPresence(state, event.present, event.aikyo ?? {}, now)
    case 'tick': return onTick(state, now)
  }
}
