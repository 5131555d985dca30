/**
 * Each room's recent conversation, kept by the relay in an SQLite database in
 * its data dir (Node's built-in `node:sqlite`), so whoever joins late sees
 * what was said, and a relay restart loses none of it.
 *
 * Kept: every line (`messages`), and what belongs to the lines: actions and
 * the decisions of who speaks next (a states array), each filed under the
 * room's latest line. Individual votes are not kept. Per room, the last
 * `lines` lines with their actions and decisions, and at most `bytes` of
 * JSON; at most `rooms` rooms (the one written longest ago goes first).
 * A private room's lines and actions are kept sealed, unread, for its
 * members to open.
 *
 * Entries are numbered relay-wide (`seq`, never reused, also across
 * restarts), which is the cursor `since` pages by. Writes are queued and
 * written in one transaction per turn of the event loop.
 */
import { existsSync, renameSync } from 'node:fs'
import { DatabaseSync } from 'node:sqlite'
import type { StatementSync } from 'node:sqlite'
import type { TopicPayload } from '../protocol/codec.ts'
import type { Sealed } from '../protocol/private-rooms.ts'
import type { Topic } from '../protocol/topics.ts'
import { isDecision } from '../protocol/payloads.ts'
import type { HistoryEntry, HistoryPage } from '../protocol/relay-api.ts'
import type { RoomName } from '../protocol/rooms.ts'
import type { Logger } from '../p2p/logger.ts'

/** A private room's payload, which the relay cannot open. */
interface SealedArrival { topic: Topic, payload: Sealed, sealed: true }

/** An entry as stored: the payload's JSON text as it travelled. */
type StoredEntry = Omit<HistoryEntry, 'payload'> & { json: string }

export interface HistoryLimits {
  /** Lines kept per room (with their actions and decisions). */
  lines: number
  /** JSON bytes kept per room, whatever the number of lines. */
  bytes: number
  /** Rooms kept. */
  rooms: number
}

export interface History {
  /**
   * Keeps what belongs in a room's history (a line, an action, a decision);
   * anything else is ignored. A private room's payloads are kept sealed, as
   * they travelled: its lines and actions (the relay cannot tell a decision
   * from a vote there, and keeps neither).
   */
  record: (room: RoomName, arrival: (TopicPayload | SealedArrival) & { json: string, peer: string }) => void
  /** The room's entries after `since`, oldest first, at most `limit`: the answer of `/api/rooms/NAME/history`. */
  page: (room: RoomName, since: number, limit: number) => HistoryPage
  /** Writes what is queued now (also done on its own, every turn of the event loop). */
  flush: () => void
  close: () => void
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    room TEXT NOT NULL,
    time INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('line', 'action', 'decision')),
    line TEXT,
    peer TEXT NOT NULL,
    json TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS entries_by_room ON entries (room, seq);
`

/**
 * Opens (or makes) the database at `file`. A file that is not a database of
 * ours (damaged, or something else) is moved aside, named in the log, and a
 * new one is made: the relay keeps working and nothing is overwritten.
 */
export function openHistory (file: string, limits: HistoryLimits, options: { log: Logger, now?: () => number }): History {
  const { log, now = Date.now } = options
  let db: DatabaseSync
  try {
    db = openDatabase(file)
  } catch (err) {
    const aside = `${file}.unreadable-${now()}`
    if (existsSync(file)) renameSync(file, aside)
    log.warn(`history: ${file} could not be read (${(err as Error).message}); moved it to ${aside} and started a new history`)
    db = openDatabase(file)
  }

  const insert = db.prepare('INSERT INTO entries (room, time, kind, line, peer, json) VALUES (?, ?, ?, ?, ?, ?)')
  const select = db.prepare('SELECT seq, time, kind, line, peer, json FROM entries WHERE room = ? AND seq > ? ORDER BY seq LIMIT ?')
  const lastLine = db.prepare("SELECT line FROM entries WHERE room = ? AND kind = 'line' ORDER BY seq DESC LIMIT 1")
  const lineCount = db.prepare("SELECT count(*) AS n FROM entries WHERE room = ? AND kind = 'line'")
  const roomBytes = db.prepare('SELECT coalesce(sum(length(json)), 0) AS n FROM entries WHERE room = ?')
  // The first entry to keep when only the newest `?` lines stay: that line itself.
  const keepFrom = db.prepare("SELECT seq FROM entries WHERE room = ? AND kind = 'line' ORDER BY seq DESC LIMIT 1 OFFSET ?")
  const dropBefore = db.prepare('DELETE FROM entries WHERE room = ? AND seq < ?')
  const oldestLine = db.prepare("SELECT seq FROM entries WHERE room = ? AND kind = 'line' ORDER BY seq LIMIT 1 OFFSET 1")
  const roomCount = db.prepare('SELECT count(DISTINCT room) AS n FROM entries')
  const stalestRoom = db.prepare('SELECT room FROM entries GROUP BY room ORDER BY max(seq) LIMIT 1')
  const dropRoom = db.prepare('DELETE FROM entries WHERE room = ?')

  /** The room's latest line id, remembered between writes (read from the database once). */
  const latestLine = new Map<RoomName, string | null>()
  const lineOf = (room: RoomName): string | null => {
    if (!latestLine.has(room)) latestLine.set(room, (lastLine.get(room)?.line as string | null | undefined) ?? null)
    return latestLine.get(room)!
  }

  /** An entry waiting to be written: room, time, kind, line, peer, json. */
  type Queued = [RoomName, number, HistoryEntry['kind'], string | null, string, string]
  let queue: Queued[] = []
  let scheduled: ReturnType<typeof setImmediate> | undefined

  const count = (statement: StatementSync, ...args: Array<string | number>): number => Number(statement.get(...args)?.n ?? 0)

  /** Keeps the room within its limits: the newest `lines` lines, and within `bytes`. */
  const trim = (room: RoomName): void => {
    const lines = count(lineCount, room)
    if (lines > limits.lines) {
      const from = keepFrom.get(room, limits.lines - 1)?.seq
      if (typeof from === 'number' || typeof from === 'bigint') dropBefore.run(room, Number(from))
    }
    while (count(roomBytes, room) > limits.bytes) {
      const next = oldestLine.get(room)?.seq
      if (next === undefined) break // one line left: it stays, whatever its size
      dropBefore.run(room, Number(next))
    }
  }

  const flush = (): void => {
    if (scheduled !== undefined) clearImmediate(scheduled)
    scheduled = undefined
    if (queue.length === 0) return
    const rows = queue
    queue = []
    const rooms = new Set<RoomName>()
    db.exec('BEGIN')
    try {
      for (const row of rows) {
        insert.run(...row)
        rooms.add(row[0])
      }
      for (const room of rooms) trim(room)
      while (count(roomCount) > limits.rooms) {
        const stale = stalestRoom.get()?.room as RoomName | undefined
        if (stale === undefined) break
        dropRoom.run(stale)
        latestLine.delete(stale)
      }
      db.exec('COMMIT')
    } catch (err) {
      db.exec('ROLLBACK')
      log.error(`history: could not write ${rows.length} entries: ${(err as Error).message}`)
    }
  }

  return {
    record: (room, arrival) => {
      let kind: HistoryEntry['kind']
      let line: string | null
      if ('sealed' in arrival) {
        if (arrival.topic !== 'messages' && arrival.topic !== 'actions') return
        kind = arrival.topic === 'messages' ? 'line' : 'action'
        line = null
      } else if (arrival.topic === 'messages') {
        kind = 'line'
        line = arrival.payload.params.id
        latestLine.set(room, line)
      } else if (arrival.topic === 'actions') {
        kind = 'action'
        line = lineOf(room)
      } else if (arrival.topic === 'states' && isDecision(arrival.payload)) {
        // Decisions are kept (the leader's, ours or aikyo's); single votes are not.
        kind = 'decision'
        line = lineOf(room)
      } else {
        return
      }
      queue.push([room, now(), kind, line, arrival.peer, arrival.json])
      scheduled ??= setImmediate(flush)
    },
    page: (room, since, limit) => {
      flush()
      const rows = select.all(room, since, limit + 1) as unknown as StoredEntry[]
      const more = rows.length > limit
      const entries = (more ? rows.slice(0, limit) : rows).map(({ json, ...r }) => ({ ...r, seq: Number(r.seq), time: Number(r.time), payload: JSON.parse(json) as unknown }))
      return { room, entries, more, next: entries.at(-1)?.seq ?? null }
    },
    flush,
    close: () => {
      flush()
      db.close()
    }
  }
}

function openDatabase (file: string): DatabaseSync {
  const db = new DatabaseSync(file)
  try {
    // One writer (the data dir's lock says so); WAL keeps a crash from losing
    // what was committed, NORMAL sync is enough for a chat history.
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;')
    db.exec(SCHEMA)
    return db
  } catch (err) {
    db.close()
    throw err
  }
}
