/**
 * The rooms' history over libp2p (HISTORY_PROTOCOL, protocol/relay-api.ts):
 * the same pages as `/api/rooms/NAME/history`, for peers that reach the
 * relay over TCP and not its HTTP port (headless companions).
 */
import * as v from 'valibot'
import type { Libp2p, Stream } from '@libp2p/interface'
import { parseJson } from '../protocol/codec.ts'
import { HISTORY_PROTOCOL, HistoryRequestSchema } from '../protocol/relay-api.ts'
import { parseRoomName } from '../protocol/rooms.ts'
import { readAll } from '../p2p/stream-bytes.ts'
import type { History } from './history.ts'

const MAX_REQUEST_BYTES = 1024
/** What is written before waiting for the stream to drain. */
const CHUNK_BYTES = 64 * 1024

/** What the relay answers a request: a page, or why not. */
function answer (history: History, bytes: Uint8Array): unknown {
  const json = parseJson(new TextDecoder().decode(bytes))
  const request = json.ok ? v.safeParse(HistoryRequestSchema, json.value) : undefined
  if (request?.success !== true) return { error: { code: 'invalid', message: `send {"room","since"?,"limit"?} as JSON${request === undefined ? '' : `: ${v.summarize(request.issues)}`}` } }
  const room = parseRoomName(request.output.room)
  if (!room.ok) return { error: { code: 'invalid', message: room.message } }
  return history.page(room.room, request.output.since, request.output.limit)
}

/** Sends bytes in chunks, waiting whenever the stream asks to. */
async function sendAll (stream: Stream, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.byteLength; offset += CHUNK_BYTES) {
    if (!stream.send(bytes.subarray(offset, offset + CHUNK_BYTES))) await stream.onDrain()
  }
}

/** Serves the rooms' history on the node. Returns the stop. */
export async function serveHistoryProtocol (node: Libp2p, history: History): Promise<() => Promise<void>> {
  await node.handle(HISTORY_PROTOCOL, async (stream) => {
    try {
      const request = await readAll(stream, MAX_REQUEST_BYTES, 'request')
      await sendAll(stream, new TextEncoder().encode(JSON.stringify(answer(history, request))))
      await stream.close()
    } catch (err) {
      stream.abort(err as Error)
    }
  })
  return async () => { await node.unhandle(HISTORY_PROTOCOL).catch(() => {}) }
}
