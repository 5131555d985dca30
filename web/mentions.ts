/**
 * `@Name` mentions in what a person types: which companions a line is for.
 * A mention matches a companion's name with or without its spaces, in any
 * case (`@aya`, `@Aya`, `@MissAya` for "Miss Aya"), or its id.
 */
export interface Candidate { id: string, name: string }

const squash = (name: string): string => name.replace(/\s+/g, '').toLowerCase()

/** Ids of the candidates the text mentions, in the order first mentioned. */
export function mentionedIds (text: string, candidates: readonly Candidate[]): string[] {
  const ids: string[] = []
  for (const match of text.matchAll(/(?<![\p{L}\p{N}_.])@([\p{L}\p{N}_-]+)/gu)) {
    const word = match[1].toLowerCase()
    const found = candidates.find(c => squash(c.name) === word || c.id.toLowerCase() === word) ??
      // "@Aya," or "@Aya's": the longest name the word starts with.
      [...candidates].sort((a, b) => squash(b.name).length - squash(a.name).length).find(c => squash(c.name) !== '' && word.startsWith(squash(c.name)))
    if (found !== undefined && !ids.includes(found.id)) ids.push(found.id)
  }
  return ids
}
