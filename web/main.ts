/**
 * The page's entry: state first, then the view, then the network and the
 * companion that fill the state. Data flows one way:
 * network -> companion -> state -> components.
 */
import { mount } from 'svelte'
import App from './App.svelte'
import { preloadBrain } from './brain-choice.ts'
import type { BrainChoice } from './brain-choice.ts'
import { startCompanionNetwork } from './companion-network.ts'
import type { CompanionNetwork } from './companion-network.ts'
import type { CompanionSession } from './companion-session.ts'
import { CompanionState } from './companion-state.svelte.ts'
import { claimIdentity, loadPerson } from './identity.ts'
import { NetworkState } from './network-state.svelte.ts'
import { parseIceUrls, readCompanionChoice, readIceServers, readMaxLinks, readRoom, saveIceServers } from './settings.ts'
import { MARKS } from './marks.ts'
import { unlockRoom } from './room-lock.ts'
import { isPrivateRoom } from '../protocol/rooms.ts'

const network = new NetworkState()
const companion = new CompanionState()
const choice = readCompanionChoice(location.search, localStorage)
const room = readRoom(location.search)
if (room.ok) network.room = room.room
// A private room opens with its key (the link's #key=, or the passphrase the page asks for);
// nothing of the room starts before it.
const unlock = room.ok && isPrivateRoom(room.room) ? unlockRoom(room.room, network) : undefined
const roomKey = unlock?.key ?? Promise.resolve(undefined)
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

mount(App, { target: document.getElementById('app')!, props: { network, companion, actions, companionOff: choice.off, roomError: room.ok ? '' : room.message } })

// On https a service worker keeps the page's shell (web/service-worker.ts): a reload while
// the relay is away still opens the page, with this browser's transcript. A browser that has
// not been told to trust the relay's certificate refuses it, and the page works without.
if (location.protocol === 'https:' && 'serviceWorker' in navigator) {
  addEventListener('load', () => { navigator.serviceWorker.register('/sw.js').catch(() => {}) }, { once: true })
}

// What was said in the room before: this browser's transcript at once, then the relay's
// history. Its code loads beside the page's, not before the companion comes up.
const transcript = room.ok && !choice.off
  ? Promise.all([import('./room-transcript.ts'), roomKey]).then(([{ openRoomTranscript }, key]) =>
      openRoomTranscript(room.room, companion, { key, onUnreadable: () => { network.unreadable++ } }))
  : undefined

async function start (): Promise<void> {
  // A bad room name starts nothing: the page says what is wrong and offers the default room.
  if (!room.ok) return
  const key = await roomKey
  const identity = choice.off ? undefined : await claimIdentity(choice.preset)
  // The companion's code (turn-taking, presence) is not in the page's first
  // load: it comes while the node starts.
  const sessionCode = identity === undefined ? undefined : import('./companion-session.ts')
  started = await startCompanionNetwork(network, {
    room: network.room,
    maxLinks: readMaxLinks(location.search),
    relayInfoUrl: new URL('/api/relay', location.href).toString(),
    iceServers: readIceServers(location.search, localStorage),
    privateKey: identity?.privateKey,
    ...(key === undefined ? {} : { key })
  })
  if (identity !== undefined && sessionCode !== undefined) {
    const { startCompanionSession } = await sessionCode
    session = await startCompanionSession(started, identity, loadPerson(), companion, choice.settings, { storage: localStorage, origin: location.origin, transcript })
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
})
