/**
 * Checking a card a person edited. A card is exactly what the metadata
 * protocol serves (aikyo validates it strictly: these five fields only). The
 * built-in characters and new cards are in presets.ts (a page loads them only
 * to make a new companion).
 */
import * as v from 'valibot'
import type { CompanionCard } from '../protocol/payloads.ts'

const EditableText = (max: number) => v.pipe(v.string(), v.trim(), v.maxLength(max, `must be at most ${max} characters`))

const EditSchema = v.object({
  name: v.pipe(EditableText(40), v.minLength(1, 'a companion needs a name')),
  personality: EditableText(300),
  story: EditableText(1000),
  sample: EditableText(300)
})

export type CardEdit = v.InferInput<typeof EditSchema>

/** Applies a person's edit to a card (the id never changes). Errors name the field. */
export function editCard (card: CompanionCard, edit: CardEdit): { ok: true, card: CompanionCard } | { ok: false, message: string } {
  const result = v.safeParse(EditSchema, edit)
  if (!result.success) {
    const issue = result.issues[0]
    return { ok: false, message: `${v.getDotPath(issue) ?? 'card'} ${issue.message}` }
  }
  return { ok: true, card: { id: card.id, ...result.output } }
}
