/**
 * Settings a person may give the page, from the URL (kept in localStorage
 * where they should outlive the visit).
 * - `?room=NAME`: the room to converse in (the default room without it);
 *   a private room's (`~NAME`) key comes after `#key=`.
 * - `?max-links=N`: direct links to other companions at most (default 8).
 * - `?stun=stun:host:3478,…`: STUN/TURN servers, none unless asked for.
 * - `?companion=NAME`: a built-in character for a new companion; `off`: no companion.
 * - `?turn-limit=N`, `?pace=MS`, `?vote-window=MS`: turn-taking settings.
 *   The turn limit set in the page is kept in localStorage; the URL wins.
 */
import type { CompanionSettings } from '../companion/companion.ts'
import { TURN_LIMIT_BOUNDS, isTurnLimit } from '../companion/turn-state.ts'
import { DEFAULT_ROOM, parseRoomName } from '../protocol/rooms.ts'
import type { RoomName } from '../protocol/rooms.ts'

const ICE_KEY = 'kotoba.iceServers'
export const TURN_LIMIT_KEY = 'kotoba.turnLimit'

/** Parses STUN/TURN URLs (comma or space separated); anything else is left out. */
export function parseIceUrls (text: string): string[] {
  return text.split(/[\s,]+/).map(s => s.trim()).filter(s => /^(stun|turn)s?:\S+$/.test(s))
}

/** Keeps STUN/TURN URLs for the next page load (the node is configured at start). */
export function saveIceServers (storage: Pick<Storage, 'setItem'>, urls: string[]): void {
  storage.setItem(ICE_KEY, JSON.stringify(urls))
}

export function readIceServers (search: string, storage: Pick<Storage, 'getItem' | 'setItem'>): RTCIceServer[] {
  const fromUrl = new URLSearchParams(search).get('stun')
  if (fromUrl !== null) {
    const urls = parseIceUrls(fromUrl)
    saveIceServers(storage, urls)
    return urls.map(url => ({ urls: url }))
  }
  try {
    const stored: unknown = JSON.parse(storage.getItem(ICE_KEY) ?? '[]')
    return Array.isArray(stored) ? stored.filter((u): u is string => typeof u === 'string').map(url => ({ urls: url })) : []
  } catch {
    return []
  }
}

/** The room `?room=` names (the default room without it), or why the name is no room. */
export function readRoom (search: string): ReturnType<typeof parseRoomName> {
  const asked = new URLSearchParams(search).get('room')
  return parseRoomName(asked ?? DEFAULT_ROOM)
}

/**
 * This page's address in another room (the default room drops `?room=`);
 * other settings stay. A private room's `secret` goes after `#key=`, which
 * a browser never sends to a server; any other room's address has no `#`.
 */
export function roomUrl (href: string, room: RoomName, secret?: string): string {
  const url = new URL(href)
  if (room === DEFAULT_ROOM) url.searchParams.delete('room')
  else url.searchParams.set('room', room)
  // URLSearchParams escapes a private room's ~, which needs no escaping in a query.
  url.search = url.search.replace(/([?&])room=%7E/, '$1room=~')
  url.hash = secret === undefined ? '' : `key=${secret}`
  return url.toString()
}

/** The address `/api/relay` is asked at for a room (`url`: the relay's `/api/relay`): the answer then names the room's members. */
export function relayInfoUrlFor (url: string, room: RoomName): string {
  const withRoom = new URL(url)
  withRoom.searchParams.set('room', room)
  return withRoom.toString()
}

/** The private room's secret a link carries (`#key=…`), if it carries one. */
export function readRoomSecret (hash: string): string | undefined {
  const secret = new URLSearchParams(hash.replace(/^#/, '')).get('key')
  return secret === null || secret === '' ? undefined : secret
}

/** `?max-links=N` (1 to 64), if given and sane. */
export function readMaxLinks (search: string): number | undefined {
  const value = Number(new URLSearchParams(search).get('max-links') ?? NaN)
  return Number.isInteger(value) && value >= 1 && value <= 64 ? value : undefined
}

export interface CompanionChoice {
  /** No companion in this tab (a plain node, e.g. for benchmarks). */
  off: boolean
  preset?: string
  settings: Partial<CompanionSettings>
}

export function readCompanionChoice (search: string, storage?: Pick<Storage, 'getItem'>): CompanionChoice {
  const params = new URLSearchParams(search)
  const companion = params.get('companion')?.trim()
  const settings: Partial<CompanionSettings> = {}
  const number = (name: string, min: number, max: number): number | undefined => {
    const raw = params.get(name)
    if (raw === null) return undefined
    const value = Number(raw)
    return Number.isInteger(value) && value >= min && value <= max ? value : undefined
  }
  const stored = Number(storage?.getItem(TURN_LIMIT_KEY) ?? NaN)
  const turnLimit = number('turn-limit', TURN_LIMIT_BOUNDS.min, TURN_LIMIT_BOUNDS.max) ?? (isTurnLimit(stored) ? stored : undefined)
  const pace = number('pace', 0, 60_000)
  const voteWindow = number('vote-window', 100, 60_000)
  if (turnLimit !== undefined) settings.turnLimit = turnLimit
  if (pace !== undefined) settings.paceMs = pace
  if (voteWindow !== undefined) settings.voteWindowMs = voteWindow
  return { off: companion === 'off', preset: companion === undefined || companion === '' || companion === 'off' ? undefined : companion, settings }
}
