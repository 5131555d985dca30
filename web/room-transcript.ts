/**
 * What was said in the tab's room before now, shown and remembered:
 * - the tab's own transcript of the room, kept in the browser (IndexedDB), so
 *   a reload shows it at once, even while the relay is away (a private
 *   room's sealed with its key);
 * - the relay's history of the room (`/api/rooms/NAME/history`), for what was
 *   said while this tab was not there (a private room's sealed, opened here).
 * Both become the page's earlier lines (one line once, whatever the source)
 * and, through `earlier`, the companion's context. Live lines are kept as
 * they come.
 */
import { parseJson } from '../protocol/codec.ts'
import { historyLines } from '../protocol/history-lines.ts'
import type { HistoryKey } from '../protocol/history-lines.ts'
import { openSealed, seal } from '../protocol/private-rooms.ts'
import type { RoomKey, Sealed } from '../protocol/private-rooms.ts'
import type { Message, MessageMetadata } from '../protocol/payloads.ts'
import { historyPath, parseHistoryPage } from '../protocol/relay-api.ts'
import type { RoomName } from '../protocol/rooms.ts'
import type { CompanionState, TimelineLine } from './companion-state.svelte.ts'
import { MARKS } from './marks.ts'
import { openDatabase, requestResult } from './indexed-db.ts'

/** A line as kept in the browser: the page's line, its room, and what makes it a message again. */
interface StoredLine extends Omit<TimelineLine, 'own' | 'earlier'> {
  room: RoomName
  /** A person's display name (`metadata.name`). */
  name?: string
}

export interface RoomTranscript {
  /** Every earlier line (stored, then the relay's), oldest first, once both sources answered or failed. */
  earlier: Promise<Message[]>
  /** Keeps a line heard live (with a person's display name, if any). */
  keep: (line: TimelineLine, name?: string) => void
}

/** Lines kept per room in the browser; older ones are dropped. */
const KEEP = 500
/** Pages of history asked of the relay at most (each up to 500 entries). */
const MAX_PAGES = 10

const asMessage = (l: StoredLine): Message => {
  const metadata: MessageMetadata = {}
  if (l.replyTo !== undefined) metadata.replyTo = l.replyTo
  if (l.name !== undefined) metadata.name = l.name
  if (l.emotion !== '') metadata.emotion = l.emotion
  return { jsonrpc: '2.0', method: 'message.send', params: { id: l.id, from: l.from, to: l.to, message: l.text, metadata } }
}

const asStored = (room: RoomName, m: Message, time: number): StoredLine => {
  const { id, from, to, message, metadata } = m.params
  const line: StoredLine = { room, id, from, to, text: message, emotion: metadata?.emotion ?? '', time }
  if (metadata?.replyTo !== undefined) line.replyTo = metadata.replyTo
  if (metadata?.name !== undefined) line.name = metadata.name
  return line
}

async function openStore (): Promise<IDBDatabase> {
  return await openDatabase(indexedDB, 'kotoba-transcripts', 1, (db) => {
    db.createObjectStore('lines', { keyPath: ['room', 'id'] }).createIndex('byTime', ['room', 'time'])
  })
}

/**
 * A private room's line as kept in the browser: sealed with the room's key
 * as it would travel (its id and time in clear: the store's keys), so
 * whoever opens the room here without the key reads nothing of it.
 */
interface SealedRow { room: RoomName, id: string, time: number, sealed: Sealed }

/** The room's lines in the browser, oldest first (a private room's opened with its key; one that does not open is told). */
async function storedLines (db: IDBDatabase, room: RoomName, options: HistoryKey): Promise<StoredLine[]> {
  const index = db.transaction('lines').objectStore('lines').index('byTime')
  const rows = await requestResult(index.getAll(IDBKeyRange.bound([room, -Infinity], [room, Infinity]))) as Array<StoredLine | SealedRow>
  const lines: StoredLine[] = []
  for (const row of rows) {
    if (!('sealed' in row)) {
      if (options.key === undefined) lines.push(row)
      continue
    }
    if (options.key === undefined) continue
    const opened = await openSealed(options.key, 'messages', row.sealed)
    const json = opened.ok ? parseJson(opened.text) : undefined
    if (json?.ok === true) lines.push(json.value as StoredLine)
    else options.onUnreadable?.()
  }
  return lines
}

/** Keeps lines (a private room's sealed), then drops the room's oldest beyond KEEP. */
async function store (db: IDBDatabase, room: RoomName, lines: StoredLine[], key: RoomKey | undefined): Promise<void> {
  const rows = key === undefined
    ? lines
    : await Promise.all(lines.map(async (line): Promise<SealedRow> => ({ room, id: line.id, time: line.time, sealed: (await seal(key, 'messages', JSON.stringify(line))).payload })))
  const tx = db.transaction('lines', 'readwrite')
  const lineStore = tx.objectStore('lines')
  for (const row of rows) lineStore.put(row)
  const range = IDBKeyRange.bound([room, -Infinity], [room, Infinity])
  void requestResult(lineStore.index('byTime').count(range)).then((count) => {
    let surplus = count - KEEP
    if (surplus <= 0) return
    const cursor = lineStore.index('byTime').openCursor(range)
    cursor.onsuccess = () => {
      if (cursor.result === null || surplus-- <= 0) return
      cursor.result.delete()
      cursor.result.continue()
    }
  })
}

/** The relay's history of the room: its lines, oldest first. */
async function relayLines (room: RoomName, signal: AbortSignal, options: HistoryKey): Promise<StoredLine[]> {
  const lines: StoredLine[] = []
  let since = 0
  for (let page = 0; page < MAX_PAGES; page++) {
    const response = await fetch(historyPath(room, since), { signal, cache: 'no-store' })
    if (!response.ok) break // an older relay, or one with --history 0
    const parsed = parseHistoryPage(await response.json())
    if (!parsed.ok) break
    for (const { message, time } of await historyLines(parsed.value, options)) lines.push(asStored(room, message, time))
    if (!parsed.value.more || parsed.value.next === null) break
    since = parsed.value.next
  }
  return lines
}

export function openRoomTranscript (room: RoomName, state: CompanionState, options: HistoryKey = {}): RoomTranscript {
  const db = openStore().catch(() => undefined) // no IndexedDB (a private window may refuse it): the relay's history alone
  const show = (lines: StoredLine[]): void => {
    for (const l of lines) if (l.name !== undefined && state.names[l.from] === undefined) state.names[l.from] = l.name
    state.addEarlier(lines)
  }
  const stored = db.then(async d => d === undefined ? [] : await storedLines(d, room, options)).catch(() => [])
  void stored.then(show)
  const fromRelay = relayLines(room, AbortSignal.timeout(10_000), options).catch(() => [])
  void fromRelay.then(async (lines) => {
    show(lines)
    performance.mark(MARKS.historyShown)
    const d = await db
    if (d !== undefined && lines.length > 0) await store(d, room, lines, options.key)
  })
  return {
    earlier: Promise.all([stored, fromRelay]).then(([a, b]) => {
      const byId = new Map([...a, ...b].map(l => [l.id, l]))
      return [...byId.values()].sort((x, y) => x.time - y.time).map(asMessage)
    }),
    keep: (line, name) => {
      const kept: StoredLine = { room, id: line.id, from: line.from, to: line.to, text: line.text, emotion: line.emotion, time: line.time }
      if (line.replyTo !== undefined) kept.replyTo = line.replyTo
      if (name !== undefined) kept.name = name
      void db.then(async (d) => { if (d !== undefined) await store(d, room, [kept], options.key) }).catch(() => {})
    }
  }
}
