/**
 * Who this tab is, kept across reloads: its libp2p key (so its peer id) and
 * its companion card, in localStorage. Every identity is held by at most one
 * tab at a time with a Web Lock, so two tabs are two companions, a reload
 * gets the same one back (sessionStorage remembers which), and a new tab
 * takes a free one before making a new one. Without Web Locks (a page
 * opened over plain http from another machine is not a secure context), a
 * tab keeps its identity across reloads through sessionStorage only.
 */
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { seededRandom } from '../companion/random.ts'
import { toCard } from '../protocol/payloads.ts'
import type { CompanionCard } from '../protocol/payloads.ts'

const POOL_KEY = 'kotoba.identities'
const TAB_KEY = 'kotoba.identity'
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

function readPool (): Stored[] {
  try {
    const value: unknown = JSON.parse(localStorage.getItem(POOL_KEY) ?? '[]')
    if (!Array.isArray(value)) return []
    return value.flatMap((item: { key?: unknown, card?: unknown }) => {
      const card = toCard(item?.card)
      return typeof item?.key === 'string' && card !== undefined ? [{ key: item.key, card }] : []
    })
  } catch {
    return []
  }
}

function writePool (pool: Stored[]): void {
  localStorage.setItem(POOL_KEY, JSON.stringify(pool.slice(-POOL_LIMIT)))
}

/**
 * Takes the lock for an identity if no other tab holds it; holds it until the
 * tab closes. `waitMs`: how long to wait for a holder to let go (the page this
 * tab was before a reload may still hold its own identity for a moment).
 */
async function tryHold (id: string, waitMs = 0): Promise<boolean> {
  if (navigator.locks === undefined) return false
  return await new Promise<boolean>((resolve) => {
    const options: LockOptions = waitMs === 0 ? { ifAvailable: true } : { signal: AbortSignal.timeout(waitMs) }
    navigator.locks.request(`kotoba-identity-${id}`, options, async (lock) => {
      resolve(lock !== null)
      if (lock !== null) await new Promise(() => {}) // held for the tab's lifetime
    }).catch(() => { resolve(false) })
  })
}

/** How long a reloaded tab waits for its own identity, which the page before it may still hold. */
const RELOAD_WAIT_MS = 1500

/**
 * This tab's identity: the one it had before a reload, else a free one
 * (matching `preset`, when the URL asks for one), else a new one.
 */
export async function claimIdentity (preset?: string): Promise<Identity> {
  const pool = readPool()
  const mine = sessionStorage.getItem(TAB_KEY)
  const wanted = (s: Stored): boolean => preset === undefined || s.card.name.toLowerCase() === preset.toLowerCase()
  const ordered = [...pool.filter(s => s.card.id === mine), ...pool.filter(s => s.card.id !== mine && wanted(s))]
  let chosen: Stored | undefined
  for (const candidate of ordered) {
    const locksMissing = navigator.locks === undefined
    if ((locksMissing && candidate.card.id === mine) || await tryHold(candidate.card.id, candidate.card.id === mine ? RELOAD_WAIT_MS : 0)) {
      chosen = candidate
      break
    }
  }
  if (chosen === undefined) {
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
