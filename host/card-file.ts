/**
 * Companion card files, for `npm run companion -- --card FILE` and
 * `node relay --companion FILE`: the five fields (`{id, name, personality,
 * story, sample}`), or an aikyo card (`{"metadata": {…}}`).
 */
import { readFile } from 'node:fs/promises'
import { toCard } from '../protocol/payloads.ts'
import type { CompanionCard } from '../protocol/payloads.ts'

/** Reads and checks a card file; a `TypeError` says what is wrong with it. */
export async function loadCardFile (path: string): Promise<CompanionCard> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new TypeError(`cannot read the card file ${path}: ${(err as Error).message}`)
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new TypeError(`the card file ${path} is not JSON: ${(err as Error).message}`)
  }
  const inner = typeof value === 'object' && value !== null && 'metadata' in value ? value.metadata : value
  const card = toCard(inner)
  if (card === undefined) {
    throw new TypeError(`the card file ${path} is not a companion card: it needs id, name, personality, story and sample, as strings (id like "companion_aya")`)
  }
  return card
}
