/**
 * The page's entry: state first; then what the first dial needs (the
 * relay's answer and this tab's key, asked already by web/boot.ts), the
 * network, and the view once the relay is reached; then the companion.
 * Data flows one way: network -> companion -> state -> components.
 */
import { boot } from './boot.ts'
import { preloadBrain } from './brain-choice.ts'
import type { BrainChoice } from './brain-choice.ts'
import { readRelayInfo, startCompanionNetwork } from './companion-network.ts'
import type { CompanionNetwork } from './companion-network.ts'
import type { CompanionSession } from './companion-session.ts'
import type { CompanionState } from './companion-state.svelte.ts'
import { claimIdentity, loadPerson } from './identity.ts'
import { NetworkState } from './network-state.ts'
import { parseIceUrls, readIceServers, readMaxLinks, relayInfoUrlFor, saveIceServers } from './settings.ts'
import { MARKS } from './marks.ts'
import { unlockRoom } from './room-lock.ts'
import { isPrivateRoom } from '../protocol/rooms.ts'
import { threadsCookie } from '../protocol/relay-api.ts'

performance.mark(MARKS.scriptStart)
const network = new NetworkState()
// The companion's state is Svelte state: made once something needs it (the view, the room's
// transcript, the companion), all after the relay is reached; the page's first load has no Svelte.
let companionState: Promise<CompanionState> | undefined
function companionStateMade (): Promise<CompanionState> {
  companionState ??= import('./companion-state.svelte.ts').then(({ CompanionState }) => new CompanionState())
  return companionState
}
const { choice, room, relayInfoUrl } = boot
if (room.ok) network.room = room.room
// A private room opens with its key (the link's #key=, or the passphrase the page asks for);
// nothing of the room starts before it.
const unlock = room.ok && isPrivateRoom(room.room) ? unlockRoom(room.room, network) : undefined
const roomKey = unlock?.key ?? Promise.resolve(undefined)
// What the first dial needs, asked by web/boot.ts before this code was in: the relay's answer,
// and this tab's key (a stored one held for it, when one is free; else one is made here).
// The companion's code waits until the relay is reached.
const relayInfo = room.ok ? readRelayInfo(relayInfoUrlFor(relayInfoUrl, room.room), { answer: boot.relayAnswer }) : undefined
relayInfo?.catch(() => { /* asked again by the network, which says why */ })
const identityClaim = room.ok && !choice.off ? claimIdentity(choice.preset, boot.heldIdentity) : undefined
let started: CompanionNetwork | undefined
let session: CompanionSession | undefined

const actions = {
  say: async (text: string, to?: string[]): Promise<void> => {
    if (session !== undefined) return await session.say(text, to)
    if (started === undefined) throw new Error('still starting')
    throw new Error('this tab has no companion (?companion=off)')
  },
  edit: (edit: Parameters<CompanionSession['edit']>[0]) => session?.edit(edit) ?? { ok: false as const, message: 'still starting' },
  setBrain: (choice: BrainChoice) => session?.setBrain(choice) ?? { ok: false as const, message: 'still starting' },
  testBrain: async (choice: BrainChoice) => await session?.testBrain(choice) ?? { ok: false as const, message: 'still starting' },
  cancelModel: () => { session?.cancelModel() },
  rename: (name: string) => session?.rename(name) ?? { ok: false as const, message: 'still starting' },
  setTurnLimit: (limit: number) => session?.setTurnLimit(limit) ?? { ok: false as const, message: 'still starting' },
  /** A private room's passphrase, as the person typed it. */
  unlockRoom: async (passphrase: string): Promise<void> => { await unlock?.tryPassphrase(passphrase) },
  /** STUN/TURN servers take effect at the next load (the node is configured at start). */
  saveIceServers: (text: string): { ok: true, urls: string[] } | { ok: false, message: string } => {
    const urls = parseIceUrls(text)
    const given = text.split(/[\s,]+/).filter(s => s !== '')
    if (urls.length !== given.length) return { ok: false, message: 'each server is a stun:, stuns:, turn: or turns: URL, e.g. stun:192.168.1.2:3478' }
    saveIceServers(localStorage, urls)
    return { ok: true, urls }
  }
}
export type PageActions = typeof actions

// The view is drawn once the tab has its first links (`linked`: its relay, and a direct link to
// a tab of its room when the relay named any; drawing the view is a few hundred ms of main
// thread, which held up the WebRTC handshakes by as much), or after two seconds without; at
// once where the person must act first (a bad room name, a private room's passphrase).
let drawn = false
function draw (): void {
  if (drawn) return
  drawn = true
  // The view's code (Svelte's rendering, the components, their styles) is not in the page's
  // first load: it runs only now.
  void Promise.all([import('./view.ts'), companionStateMade()]).then(([{ drawView }, companion]) => {
    drawView(document.getElementById('app')!, { network, companion, actions, companionOff: choice.off, roomError: room.ok ? '' : room.message })
  })
}
if (!room.ok || unlock !== undefined) draw()
else setTimeout(draw, 2000)

// On https a service worker keeps the page's shell (web/service-worker.ts): a reload while
// the relay is away still opens the page, with this browser's transcript. A browser that has
// not been told to trust the relay's certificate refuses it, and the page works without.
if (location.protocol === 'https:' && 'serviceWorker' in navigator) {
  addEventListener('load', () => { navigator.serviceWorker.register('/sw.js').catch(() => {}) }, { once: true })
}

// Settled once the tab reached its relay, or after a second without: what is not needed to
// reach it waits for this (the view is drawn later still).
const relayDialled = Promise.withResolvers<void>()
setTimeout(relayDialled.resolve, 1000)

// What was said in the room before: this browser's transcript, then the relay's history. Its
// code loads beside the page's, not before the companion comes up; it is read (IndexedDB, a
// fetch, a few hundred lines to place) once the relay is reached, not while the tab dials it.
const transcript = room.ok && !choice.off
  ? relayDialled.promise.then(async () => await Promise.all([import('./room-transcript.ts'), roomKey, companionStateMade()])).then(([{ openRoomTranscript }, key, companion]) =>
      openRoomTranscript(room.room, companion, { key, onUnreadable: () => { network.unreadable++ } }))
  : undefined

async function start (): Promise<void> {
  // A bad room name starts nothing: the page says what is wrong and offers the default room.
  if (!room.ok) return
  const key = await roomKey
  const identity = await identityClaim
  performance.mark(MARKS.identity)
  started = await startCompanionNetwork(network, {
    room: network.room,
    maxLinks: readMaxLinks(location.search),
    relayInfoUrl,
    ...(relayInfo === undefined ? {} : { relayInfo }),
    iceServers: readIceServers(location.search, localStorage),
    privateKey: identity?.privateKey,
    ...(key === undefined ? {} : { key })
  })
  void started.relayReached.then(relayDialled.resolve)
  void started.linked.then(draw)
  if (identity !== undefined) {
    // The companion's code (turn-taking, presence, its mind) is not in the page's first load,
    // and it is not fetched and run while the tab makes its first links (the main thread's
    // work held up the relay's handshake by ~0.4 s, and then the first WebRTC link's): it
    // comes once they are made (`linked`), or after a while without.
    await Promise.race([started.linked, new Promise(resolve => setTimeout(resolve, 3000))])
    const [{ startCompanionSession }, companion] = await Promise.all([import('./companion-session.ts'), companionStateMade()])
    session = await startCompanionSession(started, identity, loadPerson(), companion, choice.settings, {
      storage: localStorage,
      origin: location.origin,
      transcript,
      // The relay isolates the page (threads for a model in the tab) only when asked, by cookie.
      askThreads: (on) => { document.cookie = threadsCookie(on) },
      threadsAfterReload: isSecureContext && !crossOriginIsolated
    })
    performance.mark(MARKS.companionBorn)
    companion.up = true
    preloadBrain(companion.brain)
  }
  // Test hooks (`?test-hooks`): their code loads only then.
  if (new URLSearchParams(location.search).has('test-hooks')) {
    const network = started
    void import('./test-hooks.ts').then(({ installTestHooks }) => { installTestHooks(network, session) })
  }
  // Leaving (close, reload): close the connections now, so the other tabs see this
  // companion go at once instead of when their connection monitor gives up on it.
  addEventListener('pagehide', () => {
    void session?.stop()
    void started?.stop()
  }, { once: true })
}

start().catch((err: Error) => {
  network.relayStatus = 'offline'
  network.relayError = `could not start: ${err.message}`
  draw()
})
