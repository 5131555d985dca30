/**
 * The reply tree's fork choice: which of two lines written at the same time
 * the conversation goes on from. Lines carry `metadata.replyTo` (the line
 * their writer was answering), so every node that has seen the same lines
 * settles the same way, whatever order they arrived in: a person's line
 * beats a companion's, else the smaller id wins. Pure: no clock, no network.
 */
import { isCompanionId } from '../protocol/ids.ts'

/** A person, not a companion: neither present as a companion nor named like one. */
export const isPerson = (id: string, present: readonly string[]): boolean => !present.includes(id) && !isCompanionId(id)

/** What the reducer remembers of every recent line, to place new ones in the reply tree. */
export interface Seen { id: string, from: string, replyTo?: string }

/** Of two lines written at the same time, the one that wins: a person's, else the smaller id. */
function beats (a: Seen, b: Seen, present: readonly string[]): boolean {
  const aPerson = isPerson(a.from, present)
  if (aPerson !== isPerson(b.from, present)) return aPerson
  return a.id < b.id
}

/**
 * Whether `line` takes over from `head`: the reply tree's fork choice. A line
 * answering the head does; so does one answering a line not seen yet (it is
 * newer). Otherwise find where its branch leaves the head's branch and
 * compare the two lines there: a person's line beats a companion's, then the
 * smaller id wins. A line that already has an answer is older and never does.
 * Every node that has seen the same lines has the same head, whatever order
 * they came in. A line naming no head (aikyo's, a firehose client's) always
 * takes over, as in aikyo.
 */
export function takesOver (line: Seen, head: Seen | null, present: readonly string[], seen: readonly Seen[] = []): boolean {
  if (seen.some(l => l.replyTo === line.id)) return false
  if (head === null || line.replyTo === undefined || line.replyTo === head.id) return true
  const byId = new Map(seen.map(l => [l.id, l]))
  if (!byId.has(line.replyTo)) return true
  // The head's branch, from the head up.
  const headBranch: Seen[] = []
  for (let l: Seen | undefined = head; l !== undefined && !headBranch.includes(l); l = l.replyTo === undefined ? undefined : byId.get(l.replyTo)) headBranch.push(l)
  // Walk up from the line until its parent is on the head's branch.
  const visited = new Set<string>()
  let top: Seen = line
  for (let l: Seen | undefined = line; l !== undefined && !visited.has(l.id); l = l.replyTo === undefined ? undefined : byId.get(l.replyTo)) {
    visited.add(l.id)
    top = l
    const fork = headBranch.findIndex(h => h.id === l!.replyTo)
    if (fork > 0) return beats(l, headBranch[fork - 1], present)
  }
  // Different trees: lines naming no head take over when they come, so the
  // head's tree started later than a line's tree that starts with one.
  if (top.replyTo === undefined) return false
  return beats(line, head, present)
}

/** A remembered line as the reply tree keeps it. */
export const seenOf = (line: { id: string, from: string, replyTo?: string }): Seen => line.replyTo === undefined ? { id: line.id, from: line.from } : { id: line.id, from: line.from, replyTo: line.replyTo }
