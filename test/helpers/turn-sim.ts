/**
 * A deterministic simulation of several companions running the turn-taking
 * reducer over a gossip bus: every payload reaches every live node after a
 * seeded random delay, so each node sees votes, decisions and lines in its
 * own order. Brains are scripted and answer after seeded random delays.
 *
 * Some companions may be aikyo 1.6 nodes instead (`aikyo`), simulated as
 * aikyo's own code makes them behave (docs/companions.md, "Sharing turns
 * with aikyo"): leader election over the cards
 * they hold (everyone's), the leader alone judging for every addressee and
 * publishing one array, aikyo's pick from every array, and lines and arrays
 * dropped while their model is at work (a decision: one call; a line: two
 * calls before it is published and one after).
 */
import { createHash } from 'node:crypto'
import { aikyoSpeaker } from '../../companion/aikyo.ts'
import { DEFAULT_TURN_SETTINGS, initialTurnState } from '../../companion/turn-state.ts'
import { Outbox } from '../../companion/outbox.ts'
import { nextDeadline, step } from '../../companion/turn-taking.ts'
import type { Judgement, TurnEffect, TurnEvent, TurnSettings, TurnState } from '../../companion/turn-state.ts'
import { seededRandom } from '../../companion/random.ts'
import type { Message, State } from '../../protocol/payloads.ts'

export interface SimLine {
  id: string
  from: string
  to: string[]
  text: string
  replyTo?: string
  /** The line it answers: `replyTo` for ours; for aikyo's (which say nothing of it), the line whose decision chose its writer. */
  answers?: string
  at: number
}

export interface SimOptions {
  companions: string[]
  seed: number
  settings?: Partial<TurnSettings>
  /** Max one-way delivery delay (ms). */
  maxDelay?: number
  /** Max brain delay (ms). */
  maxThink?: number
  /** How a brain judges; default: seeded speak/listen with random importance. */
  judge?: (self: string, message: SimLine, random: () => number) => Judgement
  /** What a brain writes; default: a fresh sentence. */
  write?: (self: string, n: number) => string
  /** Sees every step (for debugging a failing seed). */
  trace?: (node: string, now: number, event: TurnEvent, effects: TurnEffect[]) => void
  /** Which of `companions` are aikyo nodes. */
  aikyo?: string[]
  /**
   * How long one call of an aikyo node's model takes (ms). Default: each
   * node's model has a speed, seeded between 300 and 10 000 ms a call, and
   * each call takes 70 % to 130 % of it.
   */
  aikyoCall?: (node: string, random: () => number) => number
}

interface AikyoNode {
  id: string
  alive: boolean
  /** Its model is at work: lines and arrays that come are dropped. */
  generating: boolean
  /** Its last five lines, as aikyo keeps them. */
  history: SimLine[]
  /** Lines and arrays it dropped while generating. */
  dropped: number
  /** Lines since a person spoke, and how far its closing walk went (its judge walks it past the turn limit). */
  lines: number
  closing: number
}

interface SimNode {
  id: string
  state: TurnState
  alive: boolean
  pending: Map<number, { after: string | null }>
  ticks: Set<number>
  /** Says its lines as companion.ts does (waiting for busy aikyo companions), on the simulated clock. */
  outbox: Outbox
}

/** Something at work (a model call, a brain thinking) from `start` to `end`, in simulated time. */
export interface Busy { start: number, end: number, what: string }

interface Scheduled { at: number, seq: number, node: string, event: TurnEvent | { type: 'timer', seq: number } }

export class TurnSim {
  now = 0
  readonly nodes = new Map<string, SimNode>()
  readonly lines: SimLine[] = []
  /** messageId -> node -> speaker chosen (null: nobody). */
  readonly decisions = new Map<string, Map<string, string | null>>()
  readonly decisionArrays: State[][] = []
  /** Every single vote our nodes sent: for which line, and when. */
  readonly votesSent: Array<{ line: string, at: number }> = []
  readonly aikyoNodes = new Map<string, AikyoNode>()
  /** The line each decision array decides (aikyo's say nothing of it). */
  private readonly decidedLine = new WeakMap<State[], string>()
  readonly random: () => number
  private queue: Scheduled[] = []
  private seq = 0
  private lineCount = 0
  private readonly options: Required<Omit<SimOptions, 'settings'>> & { settings: TurnSettings }
  private readonly names: Record<string, string>
  private readonly speeds = new Map<string, number>()

  constructor (options: SimOptions) {
    this.random = seededRandom(options.seed)
    this.options = {
      maxDelay: 40,
      maxThink: 150,
      judge: (_self, _message, random) => random() < 0.3
        ? { state: 'listen', importance: 0, closing: 'none' }
        : { state: 'speak', importance: Math.floor(random() * 11), closing: 'none' },
      trace: () => {},
      write: (self, n) => `${self} says thing number ${n} ${'abcdefghijklmnopqrstuvwxyz'.slice(n % 20, n % 20 + 6)}`,
      aikyo: [],
      aikyoCall: (node, random) => {
        const speed = this.speeds.get(node) ?? 300 + Math.floor(random() * 9700)
        this.speeds.set(node, speed)
        return Math.round(speed * (0.7 + 0.6 * random()))
      },
      ...options,
      settings: { ...DEFAULT_TURN_SETTINGS, turnLimit: 6, ...options.settings }
    }
    this.names = Object.fromEntries(this.options.aikyo.map(id => [id, id.replace('companion_', '')]))
    for (const id of options.companions) {
      if (this.options.aikyo.includes(id)) {
        this.aikyoNodes.set(id, { id, alive: true, generating: false, history: [], dropped: 0, lines: 0, closing: 0 })
        continue
      }
      const initial = initialTurnState(id, id.replace('companion_', ''), this.options.settings)
      const state = { ...initial, present: [...options.companions], aikyo: { ...initial.aikyo, names: { ...this.names } } }
      const outbox = new Outbox({
        from: () => id,
        send: (topic, payload) => { if (topic === 'messages') this.sayLine(id, payload as Message) },
        speak: () => {},
        emit: () => {},
        now: () => this.now,
        later: (ms, action) => this.later(ms, action),
        newId: () => `c${String(this.lineCount++).padStart(4, '0')}`
      })
      this.nodes.set(id, { id, state, alive: true, pending: new Map(), ticks: new Set(), outbox })
    }
  }

  private schedule (at: number, node: string, event: Scheduled['event']): void {
    this.queue.push({ at, seq: this.seq++, node, event })
  }

  private delay (): number { return 1 + Math.floor(this.random() * this.options.maxDelay) }
  private think (): number { return 1 + Math.floor(this.random() * this.options.maxThink) }

  /** Gossip: everyone alive gets it, the sender at once, the others later. */
  broadcast (from: string | null, event: TurnEvent): void {
    for (const node of [...this.nodes.values(), ...this.aikyoNodes.values()]) {
      if (!node.alive) continue
      this.schedule(this.now + (node.id === from ? 0 : this.delay()), node.id, event)
    }
  }

  /** A person (or any outside sender) says something now. */
  say (from: string, to: string[], text: string, replyTo?: string): string {
    const id = `p${String(this.lineCount++).padStart(4, '0')}`
    const metadata = replyTo === undefined ? undefined : { replyTo }
    this.publishLine({ id, from, to, text, replyTo, at: this.now }, metadata)
    return id
  }

  /** A line one of ours says (from its outbox). */
  private sayLine (from: string, message: Message): void {
    if (this.nodes.get(from)?.alive !== true) return
    const { id, to, message: text, metadata } = message.params
    const line: SimLine = { id, from, to, text, at: this.now }
    if (metadata?.replyTo !== undefined) line.replyTo = metadata.replyTo
    this.publishLine(line, metadata)
  }

  private publishLine (line: SimLine, metadata?: Record<string, unknown>): void {
    if (line.replyTo !== undefined) line.answers = line.replyTo
    this.lines.push(line)
    const message: Message = { jsonrpc: '2.0', method: 'message.send', params: { id: line.id, from: line.from, to: line.to, message: line.text } }
    if (metadata !== undefined) message.params.metadata = metadata
    this.broadcast(line.from, { type: 'message', message })
  }

  /** The node stops (tab closed); after `noticeAfter` ms the others see it gone. */
  kill (id: string, noticeAfter = 100): void {
    (this.nodes.get(id) ?? this.aikyoNodes.get(id))!.alive = false
    const remaining = [...this.nodes.values(), ...this.aikyoNodes.values()].filter(n => n.alive).map(n => n.id)
    const aikyo = Object.fromEntries(Object.entries(this.names).filter(([a]) => remaining.includes(a)))
    for (const node of this.nodes.values()) {
      if (node.alive) this.schedule(this.now + noticeAfter, node.id, { type: 'presence', present: remaining, aikyo })
    }
  }

  /** An aikyo node's model: one call takes this long. */
  private call (node: AikyoNode): number { return this.options.aikyoCall(node.id, this.random) }

  /** The cards an aikyo node holds: every companion alive (ours reach it directly or through the relay's stand-ins). */
  private active (): string[] { return [...this.nodes.values(), ...this.aikyoNodes.values()].filter(n => n.alive).map(n => n.id) }

  /** An aikyo node handles what arrives (its companionServer and agent). */
  private runAikyo (node: AikyoNode, event: Scheduled['event']): void {
    if (event.type === 'message') {
      const p = event.message.params
      const line = this.lines.find(l => l.id === p.id)!
      node.history = [...node.history, line].slice(-5)
      node.lines = line.from.startsWith('companion_') ? node.lines + 1 : 0
      if (node.lines === 0) node.closing = 0
      if (!p.to.includes(node.id)) return
      if (node.generating) { node.dropped++; return }
      const active = this.active()
      const valid = p.to.filter(id => active.includes(id))
      if (valid.length === 0) return
      const hash = BigInt(`0x${createHash('md5').update(JSON.stringify(event.message)).digest('hex')}`)
      if (valid[Number(hash % BigInt(valid.length))] !== node.id) return
      node.generating = true
      if (node.lines >= this.options.settings.turnLimit) node.closing = Math.min(node.closing + 1, 3)
      const closing = (['none', 'pre-closing', 'closing', 'terminal'] as const)[node.closing]
      const states: State[] = p.to.map((id) => {
        const j = this.options.judge(id, { ...line, at: this.now }, this.random)
        return { jsonrpc: '2.0', method: 'state.send', params: { from: id, state: j.state, importance: j.state === 'speak' ? j.importance : 0, selected: p.to.length === 1, closing } }
      })
      this.decidedLine.set(states, p.id)
      // Two model calls: the state judge, then the repetition judge.
      this.later(this.busyFor(this.call(node) + this.call(node), `${node.id} decides`), () => {
        node.generating = false
        if (!node.alive) return
        this.decisionArrays.push(states)
        this.broadcast(node.id, { type: 'states', states, author: node.id })
      })
      return
    }
    if (event.type !== 'states' || event.states.some(s => s.params.messageId !== undefined)) return
    if (node.generating) { node.dropped++; return }
    const speaker = aikyoSpeaker(event.states.map(s => s.params), this.active())
    if (speaker === undefined || speaker.closing === 'terminal' || speaker.from !== node.id) return
    node.generating = true
    const answers = this.decidedLine.get(event.states)
    this.later(this.busyFor(this.call(node) + this.call(node), `${node.id} writes`), () => {
      if (!node.alive) return
      const n = this.lineCount++
      const to = this.active().filter(id => id !== node.id)
      const line: SimLine = { id: `a${String(n).padStart(4, '0')}`, from: node.id, to, text: this.options.write(node.id, n), at: this.now }
      if (answers !== undefined) line.answers = answers
      this.lines.push(line)
      this.broadcast(node.id, { type: 'message', message: { jsonrpc: '2.0', method: 'message.send', params: { id: line.id, from: line.from, to: line.to, message: line.text, metadata: { emotion: 'neutral' } } } })
      this.later(this.busyFor(this.call(node), `${node.id} after its line`), () => { node.generating = false })
    })
  }

  private readonly timers = new Map<number, () => void>()
  /** Runs `action` after `ms` of simulated time; returns the cancel. */
  private later (ms: number, action: () => void): () => void {
    const seq = this.seq
    this.timers.set(seq, action)
    this.schedule(this.now + ms, '', { type: 'timer', seq })
    return () => { this.timers.delete(seq) }
  }

  /** What was at work, and when (aikyo model calls, our brains thinking). */
  readonly busy: Busy[] = []
  /** `what` is at work for `ms` from now. */
  private busyFor (ms: number, what: string): number {
    this.busy.push({ start: this.now, end: this.now + ms, what })
    return ms
  }

  /** The longest stretch between the first line and the last in which nothing was at work and nothing was said (ms). */
  longestIdle (): number {
    const said = this.lines.map(l => l.at)
    if (said.length < 2) return 0
    const from = Math.min(...said)
    const to = Math.max(...said)
    const spans = [...this.busy, ...said.map(at => ({ start: at, end: at, what: 'line' }))]
      .filter(b => b.end >= from && b.start <= to).sort((a, b) => a.start - b.start)
    let longest = 0
    let reached = from
    for (const span of spans) {
      if (span.start > reached) longest = Math.max(longest, span.start - reached)
      reached = Math.max(reached, span.end)
    }
    return longest
  }

  private run1 (item: Scheduled): void {
    const event = item.event
    if (event.type === 'timer') {
      const action = this.timers.get(event.seq)
      this.timers.delete(event.seq)
      action?.()
      return
    }
    const aikyo = this.aikyoNodes.get(item.node)
    if (aikyo !== undefined) {
      if (aikyo.alive) this.runAikyo(aikyo, event)
      return
    }
    const node = this.nodes.get(item.node)!
    if (!node.alive) return
    const result = step(node.state, event, this.now)
    node.state = result.state
    this.options.trace(node.id, this.now, event, result.effects)
    for (const effect of result.effects) this.apply(node, effect)
    node.outbox.update(node.state)
    if (event.type === 'tick') node.ticks.delete(this.now)
    const deadline = nextDeadline(node.state)
    if (deadline !== undefined) {
      const at = Math.max(deadline, this.now)
      if (!node.ticks.has(at)) {
        node.ticks.add(at)
        this.schedule(at, node.id, { type: 'tick' })
      }
    }
  }

  private apply (node: SimNode, effect: TurnEffect): void {
    switch (effect.type) {
      case 'judge': {
        const judgement = this.options.judge(node.id, { ...effect.message, at: this.now }, this.random)
        this.schedule(this.now + this.busyFor(this.think(), `${node.id} judges`), node.id, { type: 'judged', messageId: effect.message.id, judgement })
        break
      }
      case 'publish-vote':
        this.votesSent.push({ line: effect.state.params.messageId ?? '', at: this.now })
        this.broadcast(node.id, { type: 'states', states: [effect.state], author: node.id })
        break
      case 'publish-decision': {
        this.decidedLine.set(effect.states, effect.messageId)
        const publish = (): void => {
          this.decisionArrays.push(effect.states)
          this.broadcast(node.id, { type: 'states', states: effect.states, author: node.id })
        }
        if (effect.notBefore !== undefined && effect.notBefore > this.now) this.later(effect.notBefore - this.now, publish)
        else publish()
        break
      }
      case 'write':
        node.pending.set(effect.id, { after: effect.after })
        this.schedule(this.now + this.busyFor(this.think(), `${node.id} writes`), node.id, { type: 'written', id: effect.id, ok: true })
        break
      case 'discard-line':
        node.pending.delete(effect.id)
        break
      case 'publish-line': {
        const pending = node.pending.get(effect.id)!
        node.pending.delete(effect.id)
        const others = [...this.nodes.keys(), ...this.aikyoNodes.keys()].filter(id => id !== node.id)
        // As companion.ts does: its outbox waits for aikyo companions still busy with their model.
        node.outbox.say({ text: this.options.write(node.id, this.lineCount), to: others, emotion: 'neutral', actions: [] }, pending.after, node.state)
        break
      }
      case 'decided': {
        const byNode = this.decisions.get(effect.messageId) ?? new Map<string, string | null>()
        if (effect.by !== 'speaker-gone') byNode.set(node.id, effect.speaker)
        this.decisions.set(effect.messageId, byNode)
        break
      }
      case 'rest':
        break
    }
  }

  /** Runs until nothing is left to happen or `until` (ms of simulated time). */
  run (until = 600_000): void {
    while (this.queue.length > 0) {
      this.queue.sort((a, b) => a.at - b.at || a.seq - b.seq)
      const item = this.queue.shift()!
      if (item.at > until) { this.queue.unshift(item); return }
      this.now = Math.max(this.now, item.at)
      this.run1(item)
    }
  }

  /** Runs until simulated time `at`. */
  runUntil (at: number): void {
    this.run(at)
    this.now = Math.max(this.now, at)
  }

  alive (): SimNode[] { return [...this.nodes.values()].filter(n => n.alive) }
}
