/**
 * Ids on the wire. Every speaker has an id: companions are
 * `companion_<name>[_<suffix>]` (aikyo's convention, which aikyo companions
 * follow too), everyone else who speaks (a person at a page, a firehose
 * program) is a person. Line ids are random UUIDs.
 */

const COMPANION_PREFIX = 'companion_'

/** Whether an id names a companion (else a person). The one place this rule is written. */
export function isCompanionId (id: string): boolean {
  return id.startsWith(COMPANION_PREFIX)
}

/** A companion id for `name`: its letters and digits, then `_suffix` so two companions of one name differ. */
export function companionIdFor (name: string, suffix: string): string {
  const slug = name.normalize('NFKD').toLowerCase().replace(/[^a-z0-9]+/g, '').slice(0, 16) || 'companion'
  return `${COMPANION_PREFIX}${slug}_${suffix}`
}

/** What to call someone whose name we have not heard: the id without its `companion_` or `user_` prefix. */
export function nameFromId (id: string): string {
  return id.replace(/^(companion|user)_/, '')
}

/**
 * Random ids (UUID v4 form) that work everywhere: `crypto.randomUUID` exists
 * only in secure contexts, and a page opened from a LAN address over plain
 * http is not one; `crypto.getRandomValues` is available in both.
 */
export function randomId (): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  bytes[6] = (bytes[6] & 0x0f) | 0x40
  bytes[8] = (bytes[8] & 0x3f) | 0x80
  const hex = [...bytes].map(b => b.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
