/**
 * A deterministic simulation of several companions running the turn-taking
 * reducer over a gossip bus: every payload reaches every live node after a
 * seeded random delay, so each node sees votes, decisions and lines in its
 * own order. Brains are scripted and answer after seeded random delays.
 */
import { DEFAULT_TURN_SETTINGS, initialTurnState } from '../../companion/turn-state.ts'
import { nextDeadline, step } from '../../companion/turn-taking.ts'
import type { Judgement, TurnEffect, TurnEvent, TurnSettings, TurnState } from '../../companion/turn-state.ts'
import { seededRandom } from '../../companion/random.ts'
import type { Message, State } from '../../protocol/payloads.ts'

export interface SimLine { id: string, from: string, to: string[], text: string, replyTo?: string, at: number }

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
}

interface SimNode {
  id: string
  state: TurnState
  alive: boolean
  pending: Map<number, { after: string | null }>
  ticks: Set<number>
}

interface Scheduled { at: number, seq: number, node: string, event: TurnEvent | { type: 'deliver-line' } }

export class TurnSim {
  now = 0
  readonly nodes = new Map<string, SimNode>()
  readonly lines: SimLine[] = []
  /** messageId -> node -> speaker chosen (null: nobody). */
  readonly decisions = new Map<string, Map<string, string | null>>()
  readonly decisionArrays: State[][] = []
  readonly random: () => number
  private queue: Scheduled[] = []
  private seq = 0
  private lineCount = 0
  private readonly options: Required<Omit<SimOptions, 'settings'>> & { settings: TurnSettings }

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
      ...options,
      settings: { ...DEFAULT_TURN_SETTINGS, turnLimit: 6, ...options.settings }
    }
    for (const id of options.companions) {
      const state = { ...initialTurnState(id, id.replace('companion_', ''), this.options.settings), present: [...options.companions] }
      this.nodes.set(id, { id, state, alive: true, pending: new Map(), ticks: new Set() })
    }
  }

  private schedule (at: number, node: string, event: Scheduled['event']): void {
    this.queue.push({ at, seq: this.seq++, node, event })
  }

  private delay (): number { return 1 + Math.floor(this.random() * this.options.maxDelay) }
  private think (): number { return 1 + Math.floor(this.random() * this.options.maxThink) }

  /** Gossip: everyone alive gets it, the sender at once, the others later. */
  broadcast (from: string | null, event: TurnEvent): void {
    for (const node of this.nodes.values()) {
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

  private publishLine (line: SimLine, metadata?: Record<string, unknown>): void {
    this.lines.push(line)
    const message: Message = { jsonrpc: '2.0', method: 'message.send', params: { id: line.id, from: line.from, to: line.to, message: line.text } }
    if (metadata !== undefined) message.params.metadata = metadata
    this.broadcast(line.from, { type: 'message', message })
  }

  /** The node stops (tab closed); after `noticeAfter` ms the others see it gone. */
  kill (id: string, noticeAfter = 100): void {
    this.nodes.get(id)!.alive = false
    const remaining = [...this.nodes.values()].filter(n => n.alive).map(n => n.id)
    for (const node of this.nodes.values()) {
      if (node.alive) this.schedule(this.now + noticeAfter, node.id, { type: 'presence', present: remaining })
    }
  }

  private run1 (item: Scheduled): void {
    const node = this.nodes.get(item.node)!
    if (!node.alive) return
    const event = item.event as TurnEvent
    const result = step(node.state, event, this.now)
    node.state = result.state
    this.options.trace(node.id, this.now, event, result.effects)
    for (const effect of result.effects) this.apply(node, effect)
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
        this.schedule(this.now + this.think(), node.id, { type: 'judged', messageId: effect.message.id, judgement })
        break
      }
      case 'publish-vote':
        this.broadcast(node.id, { type: 'states', states: [effect.state] })
        break
      case 'publish-decision':
        this.decisionArrays.push(effect.states)
        this.broadcast(node.id, { type: 'states', states: effect.states })
        break
      case 'write':
        node.pending.set(effect.id, { after: effect.after })
        this.schedule(this.now + this.think(), node.id, { type: 'written', id: effect.id, ok: true })
        break
      case 'discard-line':
        node.pending.delete(effect.id)
        break
      case 'publish-line': {
        const pending = node.pending.get(effect.id)!
        node.pending.delete(effect.id)
        const n = this.lineCount++
        const others = [...this.nodes.keys()].filter(id => id !== node.id)
        const line: SimLine = { id: `c${String(n).padStart(4, '0')}`, from: node.id, to: others, text: this.options.write(node.id, n), at: this.now }
        if (pending.after !== null) line.replyTo = pending.after
        this.publishLine(line, pending.after === null ? undefined : { replyTo: pending.after })
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
