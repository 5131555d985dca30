/**
 * The first half of claiming this tab's identity (web/identity.ts): the
 * identities stored in this browser, and the Web Lock of the one this tab
 * takes. It imports nothing, so it runs before the page's main code has
 * loaded (web/boot.ts): taking the lock is a round trip to the browser that
 * then overlaps the main code's parse. Nothing here parses a key or checks
 * a card beyond its id and name; web/identity.ts does.
 */
export const POOL_KEY = 'kotoba.identities'
/** Which identity this tab had (sessionStorage: a reload gets it back). */
export const TAB_KEY = 'kotoba.identity'

/** An identity as stored: its key (base64 of the protobuf), and its card, unchecked. */
export interface StoredIdentity { key: string, card: { id: string, name: string } }

/** The stored identities whose key and card id and name are strings (the rest is checked later). */
export function readStoredIdentities (storage: Pick<Storage, 'getItem'> = localStorage): StoredIdentity[] {
  try {
    const value: unknown = JSON.parse(storage.getItem(POOL_KEY) ?? '[]')
    if (!Array.isArray(value)) return []
    return value.filter((item: { key?: unknown, card?: { id?: unknown, name?: unknown } } | null): item is StoredIdentity =>
      typeof item?.key === 'string' && typeof item.card?.id === 'string' && typeof item.card.name === 'string')
  } catch {
    return []
  }
}

/**
 * Takes the lock for an identity if no other tab holds it; holds it until the
 * tab closes. `waitMs`: how long to wait for a holder to let go (the page this
 * tab was before a reload may still hold its own identity for a moment).
 */
export async function tryHold (id: string, waitMs = 0): Promise<boolean> {
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
 * Holds a stored identity for this tab: the one it had before a reload, else
 * a free one (named `preset`, when the URL asks for one); undefined when none
 * is free (web/identity.ts then makes a new one). Without Web Locks (a page
 * opened over plain http from another machine is not a secure context), a
 * tab keeps its identity across reloads through sessionStorage only.
 */
export async function holdStoredIdentity (preset?: string): Promise<StoredIdentity | undefined> {
  const pool = readStoredIdentities()
  const mine = sessionStorage.getItem(TAB_KEY)
  const wanted = (s: StoredIdentity): boolean => preset === undefined || s.card.name.toLowerCase() === preset.toLowerCase()
  const ordered = [...pool.filter(s => s.card.id === mine), ...pool.filter(s => s.card.id !== mine && wanted(s))]
  for (const candidate of ordered) {
    const locksMissing = navigator.locks === undefined
    if ((locksMissing && candidate.card.id === mine) || await tryHold(candidate.card.id, candidate.card.id === mine ? RELOAD_WAIT_MS : 0)) return candidate
  }
  return undefined
}
