/**
 * A companion's face, drawn from its id alone (no images fetched): a
 * symmetric 5×5 pattern and a hue, both from a hash of the id, so every tab
 * draws the same companion the same way.
 */
import { hashString } from '../companion/random.ts'

export interface AvatarPattern {
  /** 0–359 */
  hue: number
  /** Filled cells as [column, row], columns 0–4, mirrored around column 2. */
  cells: Array<[number, number]>
}

export function avatarFor (id: string): AvatarPattern {
  let bits = hashString(`avatar|${id}`)
  const hue = hashString(`hue|${id}`) % 360
  const cells: Array<[number, number]> = []
  for (let row = 0; row < 5; row++) {
    for (let column = 0; column < 3; column++) {
      const on = (bits & 1) === 1
      bits >>>= 1
      if (!on) continue
      cells.push([column, row])
      if (column < 2) cells.push([4 - column, row])
    }
  }
  // Never an empty face.
  if (cells.length === 0) cells.push([2, 2])
  return { hue, cells }
}

/** What a gesture or an emotion looks like on the page. */
export const EXPRESSION_GLYPHS: Record<string, string> = {
  wave: '👋',
  nod: '🙂',
  laugh: '😄',
  think: '🤔',
  bow: '🙇',
  shrug: '🤷',
  happy: '😊',
  sad: '😢',
  angry: '😠',
  neutral: '😐'
}
