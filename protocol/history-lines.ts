/**
 * The lines of a room's history (a page of `/api/rooms/NAME/history`, or of
 * the relay's history protocol), as every peer checks a line: a private
 * room's opened with its key first. The tab and the headless companion both
 * take a room's earlier lines this way.
 */
import { parseJson, validatePayload } from './codec.ts'
import type { Message } from './payloads.ts'
import { openSealed, validateSealed } from './private-rooms.ts'
import type { RoomKey } from './private-rooms.ts'
import type { HistoryPage } from './relay-api.ts'

/** A private room's key, and who to tell of a line it does not open. */
export interface HistoryKey {
  key?: RoomKey
  onUnreadable?: () => void
}

/** One history entry's payload as a line, if it is one (opened first in a private room). */
async function lineOf (payload: unknown, options: HistoryKey): Promise<Message | undefined> {
  let value = payload
  if (options.key !== undefined) {
    const sealed = validateSealed(payload)
    const opened = sealed.ok ? await openSealed(options.key, 'messages', sealed.payload) : undefined
    const json = opened?.ok === true ? parseJson(opened.text) : undefined
    if (json?.ok !== true) {
      options.onUnreadable?.()
      return undefined
    }
    value = json.value
  }
  const message = validatePayload('messages', value)
  return message.ok ? message.payload : undefined
}

/** The lines of a history page, oldest first, with when the relay saw each. */
export async function historyLines (page: HistoryPage, options: HistoryKey = {}): Promise<Array<{ message: Message, time: number }>> {
  const lines: Array<{ message: Message, time: number }> = []
  for (const entry of page.entries) {
    const message = entry.kind === 'line' ? await lineOf(entry.payload, options) : undefined
    if (message !== undefined) lines.push({ message, time: entry.time })
  }
  return lines
}
