/**
 * What one companion's built-in mind remembers of a conversation: the lines
 * it said (it never says one twice), the shape of its last line (it varies
 * them), which facts of its story it told (it tells the untold ones first),
 * and what the others said about themselves (to recall it later).
 */
import type { HistoryLine } from '../turn-state.ts'
import { readLine, topicCore } from './reading.ts'
import type { Fact, Story } from './story.ts'

/** The shapes a line can take. */
export type Shape = 'greet' | 'answer' | 'hello' | 'wellbeing' | 'welcome' | 'farewell' | 'comfort' | 'cheer' | 'news' |
  'react+ask' | 'react+share' | 'share+ask' | 'recall+ask' | 'move-on' | 'pre-closing' | 'closing'

/** Lines heard that a mind keeps (the ones others said about themselves, the lines it read). */
const HEARD_LIMIT = 64

export class Memory {
  readonly #said = new Set<string>()
  /** Shapes of its lines, newest last. */
  readonly shapes: Shape[] = []
  readonly #told = new Map<string, number>()
  /** By speaker: what they said about themselves, in their words. */
  readonly #heard = new Map<string, string[]>()
  readonly #recalled = new Set<string>()
  readonly #read = new Set<string>()
  readonly #heardLines = new Set<string>()

  /** Whether it said this line, or heard someone else say it. */
  hasSaid (text: string): boolean { return this.#said.has(text) || this.#heardLines.has(text) }

  /** Remembers a line it says, and the facts of its story in it. */
  say (text: string, shape: Shape, story: Story): void {
    this.#said.add(text)
    this.shapes.push(shape)
    if (this.shapes.length > 8) this.shapes.shift()
    for (const fact of story.facts) if (text.includes(fact.text)) this.#told.set(fact.text, (this.#told.get(fact.text) ?? 0) + 1)
  }

  /** Takes in a line someone else said (once per line): what they told of themselves. */
  hear (line: HistoryLine, self: string, names: readonly string[]): void {
    if (line.from === self || this.#read.has(line.id)) return
    this.#read.add(line.id)
    this.#heardLines.add(line.text)
    if (this.#read.size > HEARD_LIMIT * 4) this.#read.delete(this.#read.values().next().value as string)
    if (this.#heardLines.size > HEARD_LIMIT * 4) this.#heardLines.delete(this.#heardLines.values().next().value as string)
    const facts = readLine(line.text, names).selfFacts.filter(f => f.split(/\s+/).length >= 3)
    if (facts.length === 0) return
    const theirs = [...(this.#heard.get(line.from) ?? []), ...facts].slice(-8)
    this.#heard.set(line.from, theirs)
  }

  /** A fact of its story: one about `topic` if it has one, else the least told (the story's order breaking ties). */
  factFor (story: Story, topic?: string, exclude?: Fact): Fact | undefined {
    const candidates = story.facts.filter(f => f !== exclude)
    const about = topic === undefined ? [] : candidates.filter(f => mentions(f, topic))
    const pool = about.length > 0 ? about : candidates
    return [...pool].sort((a, b) => (this.#told.get(a.text) ?? 0) - (this.#told.get(b.text) ?? 0))[0]
  }

  /** How often it told this fact. */
  timesTold (fact: Fact): number { return this.#told.get(fact.text) ?? 0 }

  /** Something one of `ids` said about themselves that it has not brought up yet. */
  toRecall (ids: readonly string[]): { id: string, fact: string } | undefined {
    for (const id of ids) {
      const fact = this.#heard.get(id)?.find(f => !this.#recalled.has(`${id}|${f}`))
      if (fact !== undefined) return { id, fact }
    }
    return undefined
  }

  recalled (id: string, fact: string): void { this.#recalled.add(`${id}|${fact}`) }
}

/** Whether a fact is about `topic` (one of its topics, or a word of it, is in the topic). */
export function mentions (fact: Fact, topic: string): boolean {
  const t = topicCore(topic).toLowerCase()
  return fact.topics.map(ft => topicCore(ft).toLowerCase()).some(ft => ft === t || t.includes(ft) || ft.includes(t) || ft.split(' ').some(w => w.length > 3 && t.split(' ').includes(w)))
}
