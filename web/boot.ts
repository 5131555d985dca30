/**
 * The tab's first steps, taken before the page's main code has loaded:
 * index.html runs this small module ahead of the main chunk (a script of its
 * own, see vite.config.ts), so what the first dial waits for is asked while
 * the browser is still parsing the main chunk's 650 kB:
 * - the relay's answer for the room (`/api/relay?room=`: its addresses, the
 *   room's members);
 * - this tab's identity, a stored one held with its Web Lock (a round trip
 *   to the browser; web/identity-lock.ts).
 * It imports only what is light (no libp2p, no validation library); the
 * main code (web/main.ts) takes the answers from here.
 */
import { holdStoredIdentity } from './identity-lock.ts'
import type { StoredIdentity } from './identity-lock.ts'
import { MARKS } from './marks.ts'
import { readCompanionChoice, readRoom, relayInfoUrlFor } from './settings.ts'

performance.mark(MARKS.boot)
const room = readRoom(location.search)
const choice = readCompanionChoice(location.search, localStorage)
/** The relay's `/api/relay`, on the page's own origin. */
const relayInfoUrl = new URL('/api/relay', location.href).toString()

export const boot: {
  room: typeof room
  choice: typeof choice
  relayInfoUrl: string
  /** `/api/relay?room=` asked (none for a bad room name, which starts nothing). */
  relayAnswer?: Promise<Response>
  /** A stored identity held for this tab, or none free (none asked without a companion). */
  heldIdentity?: Promise<StoredIdentity | undefined>
} = { room, choice, relayInfoUrl }

if (room.ok) {
  boot.relayAnswer = fetch(relayInfoUrlFor(relayInfoUrl, room.room), { cache: 'no-store' })
  // Read (and its failure told) by the network; a rejection unread until then is not an error.
  boot.relayAnswer.catch(() => {})
  if (!choice.off) boot.heldIdentity = holdStoredIdentity(choice.preset)
}
