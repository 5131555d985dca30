/**
 * Who this tab is, kept across reloads: its libp2p key (so its peer id) and
 * its companion card, in localStorage. Every identity is held by at most one
 * tab at a time with a Web Lock, so two tabs are two companions, a reload
 * gets the same one back (sessionStorage remembers which), and a new tab
 * takes a free one before making a new one (the locks: web/identity-lock.ts).
 */
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { seededRandom } from '../companion/random.ts'
import { toCard } from '../protocol/payloads.ts'
import type { CompanionCard } from '../protocol/payloads.ts'
import { POOL_KEY, TAB_KEY, holdStoredIdentity, readStoredIdentities, tryHold } from './identity-lock.ts'
import type { StoredIdentity } from './identity-lock.ts'

const USER_KEY = 'kotoba.user'
/** Identities kept in this browser; the oldest unused go first beyond this. */
const POOL_LIMIT = 16

interface Stored { key: string, card: CompanionCard }

export interface Identity {
  privateKey: PrivateKey
  card: CompanionCard
  /** Stores an edited card for the next reload. */
  save: (card: CompanionCard) => void
}

export interface Person { id: string, name: string }

const toBase64 = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes))
const fromBase64 = (text: string): Uint8Array => Uint8Array.from(atob(text), c => c.charCodeAt(0))

/** The stored identities whose card is a card (what is written back keeps only those). */
function readPool (): Stored[] {
  return readStoredIdentities().flatMap(({ key, card }) => {
    const checked = toCard(card)
    return checked === undefined ? [] : [{ key, card: checked }]
  })
}

function writePool (pool: Stored[]): void {
  localStorage.setItem(POOL_KEY, JSON.stringify(pool.slice(-POOL_LIMIT)))
}

/**
 * This tab's identity: the stored one `held` holds (web/identity-lock.ts:
 * the one it had before a reload, else a free one matching `preset`), else
 * a new one. `held` may have been asked before this module loaded
 * (web/boot.ts).
 */
export async function claimIdentity (preset?: string, held: Promise<StoredIdentity | undefined> = holdStoredIdentity(preset)): Promise<Identity> {
  const stored = await held
  const card = toCard(stored?.card)
  let chosen: Stored
  if (stored !== undefined && card !== undefined) {
    chosen = { key: stored.key, card }
  } else {
    const privateKey = await generateKeyPair('Ed25519')
    // The built-in characters load only to make a new companion.
    const { generateCard } = await import('../companion/presets.ts')
    const card = generateCard(seededRandom(crypto.getRandomValues(new Uint32Array(1))[0]), preset)
    chosen = { key: toBase64(privateKeyToProtobuf(privateKey)), card }
    await tryHold(card.id)
    writePool([...readPool(), chosen])
  }
  sessionStorage.setItem(TAB_KEY, chosen.card.id)
  const id = chosen.card.id
  return {
    privateKey: privateKeyFromProtobuf(fromBase64(chosen.key)),
    card: chosen.card,
    save: (card) => { writePool(readPool().map(s => (s.card.id === id ? { ...s, card } : s))) }
  }
}

/** Names a person may give themselves. */
export const PERSON_NAME_MAX = 40

/** Renames the person at the keyboard (every tab of the browser, from its next line). */
export function savePerson (person: Person): void {
  localStorage.setItem(USER_KEY, JSON.stringify(person))
}

/** The person at the keyboard: one per browser, the same in every tab. */
export function loadPerson (): Person {
  try {
    const stored = JSON.parse(localStorage.getItem(USER_KEY) ?? 'null') as Partial<Person> | null
    if (typeof stored?.id === 'string' && /^user_[0-9a-z]{4,}$/.test(stored.id) && typeof stored.name === 'string') return { id: stored.id, name: stored.name }
  } catch { /* a fresh one below */ }
  const suffix = [...crypto.getRandomValues(new Uint8Array(4))].map(b => b.toString(16).padStart(2, '0')).join('')
  const person = { id: `user_${suffix}`, name: 'You' }
  localStorage.setItem(USER_KEY, JSON.stringify(person))
  return person
}
