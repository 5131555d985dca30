/**
 * The built-in characters, and generating a card for a new tab or companion
 * (a preset by name, or one at random, with an id of its own).
 */
import { companionIdFor } from '../protocol/ids.ts'
import type { CompanionCard } from '../protocol/payloads.ts'
import { pick } from './random.ts'

export interface Preset {
  /** Lower-case key for `?companion=`. */
  key: string
  name: string
  personality: string
  story: string
  sample: string
}

export const PRESETS: readonly Preset[] = [
  { key: 'aya', name: 'Aya', personality: 'cheerful and curious; asks lots of questions', story: 'Grew up in a seaside town and collects stories from everyone she meets.', sample: 'Ooh, tell me more — what happened next?' },
  { key: 'kyoko', name: 'Kyoko', personality: 'calm and thoughtful; speaks carefully', story: 'A librarian who reads three books at once and remembers all of them.', sample: 'That reminds me of something I read last winter.' },
  { key: 'ren', name: 'Ren', personality: 'dry wit, teasing but kind', story: 'Fixes bicycles by day and tells terrible jokes by night.', sample: 'Well, that is one way to look at it. The wrong way, but a way.' },
  { key: 'mio', name: 'Mio', personality: 'shy and poetic; notices small things', story: 'Writes haiku on the backs of receipts.', sample: 'The light on the window looks like a small lake today.' },
  { key: 'taro', name: 'Taro', personality: 'energetic and food-loving; always hungry', story: 'Runs a noodle stall and rates everything out of ten bowls.', sample: 'This deserves at least eight bowls out of ten!' },
  { key: 'sora', name: 'Sora', personality: 'dreamy stargazer who loves science facts', story: 'Built a telescope from a cardboard tube and two lenses.', sample: 'Did you know light from the Sun takes eight minutes to reach us?' },
  { key: 'hana', name: 'Hana', personality: 'gentle and caring; a gardener at heart', story: 'Keeps forty potted plants and knows each one by name.', sample: 'Everything grows better with a little patience.' },
  { key: 'kai', name: 'Kai', personality: 'bold adventurer, a little reckless', story: 'Has climbed four mountains and fallen off one.', sample: 'Let us just go and see — what is the worst that could happen?' }
]

/** The preset a `?companion=` value names, if any (by key or name, any case). */
export function findPreset (name: string): Preset | undefined {
  const wanted = name.trim().toLowerCase()
  return PRESETS.find(p => p.key === wanted || p.name.toLowerCase() === wanted)
}

/** A companion id for a new card, with a short random suffix so two tabs never share one. */
function newCompanionId (name: string, random: () => number): string {
  return companionIdFor(name, Math.floor(random() * 36 ** 4).toString(36).padStart(4, '0'))
}

/** A new card: the named preset, or one of the built-in characters at random. */
export function generateCard (random: () => number, presetName?: string): CompanionCard {
  const preset = (presetName === undefined ? undefined : findPreset(presetName)) ?? pick(random, PRESETS)
  return { id: newCompanionId(preset.name, random), name: preset.name, personality: preset.personality, story: preset.story, sample: preset.sample }
}
