/**
 * A headless companion's context from before it came: the room's earlier
 * lines, asked once of the first relay it reaches over the relay's history
 * protocol (a tab asks `/api/rooms/NAME/history`; a headless companion
 * reaches its relays over TCP, not HTTP). A private room's lines are opened
 * with its key. A relay that cannot answer is no loss: the next one is asked.
 */
import type { Connection, IdentifyResult, Libp2p } from '@libp2p/interface'
import { parseJson } from '../protocol/codec.ts'
import { historyLines } from '../protocol/history-lines.ts'
import type { Message } from '../protocol/payloads.ts'
import type { RoomKey } from '../protocol/private-rooms.ts'
import { HISTORY_PROTOCOL, parseHistoryPage } from '../protocol/relay-api.ts'
import type { RoomName } from '../protocol/rooms.ts'
import { Lifetime } from '../p2p/lifetime.ts'
import { readAll } from '../p2p/stream-bytes.ts'

/** Pages asked at most, as a tab does. */
const MAX_PAGES = 10
const MAX_ANSWER_BYTES = 8 * 1024 * 1024
const TIMEOUT_MS = 10_000

/** The room's lines a relay keeps that it saw before `before` (ms since the epoch), oldest first. */
async function askRelay (connection: Connection, room: RoomName, key: RoomKey | undefined, before: number, signal: AbortSignal): Promise<Message[]> {
  const messages: Message[] = []
  let since = 0
  for (let page = 0; page < MAX_PAGES; page++) {
    const stream = await connection.newStream(HISTORY_PROTOCOL, { signal })
    stream.send(new TextEncoder().encode(JSON.stringify({ room, since })))
    await stream.close()
    const json = parseJson(new TextDecoder().decode(await readAll(stream, MAX_ANSWER_BYTES)))
    const parsed = parseHistoryPage(json.ok ? json.value : undefined)
    if (!parsed.ok) throw new Error(`not a history page: ${parsed.message}`)
    for (const { message, time } of await historyLines(parsed.value, key === undefined ? {} : { key })) if (time < before) messages.push(message)
    if (!parsed.value.more || parsed.value.next === null) break
    since = parsed.value.next
  }
  return messages
}

/**
 * Asks the first relay that serves the room's history (then the next, if it
 * fails) and hands the lines on, once: those the relay saw before `joinedAt`,
 * when this companion joined the room. A later line may still be on its way
 * to it live, and a line taken from the history first would be a duplicate
 * when it came: the companion would never answer it.
 * Returns the stop.
 */
export function takeRoomHistory (node: Libp2p, room: RoomName, key: RoomKey | undefined, joinedAt: number, onLines: (messages: Message[]) => void): () => void {
  const lifetime = new Lifetime()
  let state: 'waiting' | 'asking' | 'done' = 'waiting'
  const onIdentify = (event: CustomEvent<IdentifyResult>): void => {
    const { protocols, connection } = event.detail
    if (state !== 'waiting' || connection.limits != null || !protocols.includes(HISTORY_PROTOCOL)) return
    state = 'asking'
    askRelay(connection, room, key, joinedAt, AbortSignal.any([lifetime.signal, AbortSignal.timeout(TIMEOUT_MS)])).then((messages) => {
      state = 'done'
      if (messages.length > 0) onLines(messages)
    }, () => { if (state === 'asking') state = 'waiting' })
  }
  node.addEventListener('peer:identify', onIdentify, { signal: lifetime.signal })
  return () => {
    state = 'done'
    lifetime.stop()
  }
}
