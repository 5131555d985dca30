/**
 * The relay's HTTP answers that pages read, written once as schemas: the
 * relay builds its answer as these types, and a page parses what it fetched
 * with them (a page never trusts a server's JSON).
 */
import * as v from 'valibot'

/** A peer and the multiaddrs (each ending in `/p2p/<id>`) to dial it by. */
const PeerAddressesSchema = v.object({
  peerId: v.pipe(v.string(), v.minLength(1)),
  multiaddrs: v.array(v.string())
})
export type PeerAddresses = v.InferOutput<typeof PeerAddressesSchema>

/** What a relay offers pages of a language model (`--llm-url`): its proxy path and model. */
const RelayLlmSchema = v.object({
  path: v.string(),
  /** The model the relay asks for whatever a page names, or null (the page's). */
  model: v.nullable(v.string())
})
export type RelayLlm = v.InferOutput<typeof RelayLlmSchema>

/** A room the relay carries, with its companions as the room's directory knows them (on every relay of the mesh). */
const RoomSummarySchema = v.object({
  name: v.string(),
  companions: v.pipe(v.number(), v.integer(), v.minValue(0))
})
export type RoomSummary = v.InferOutput<typeof RoomSummarySchema>

/** `GET /api/relay`: how a page reaches the relay that served it. */
export const RelayInfoSchema = v.object({
  peerId: v.pipe(v.string(), v.minLength(1)),
  /** Multiaddrs a browser can dial, the one matching the page's own host first. */
  multiaddrs: v.pipe(v.array(v.string()), v.minLength(1, 'the relay names no address to dial')),
  /** Other relays this one is connected to, for a page to move to if this one dies. */
  neighbours: v.array(PeerAddressesSchema),
  /** The rooms the relay carries (the default room first); an older relay lists none. */
  rooms: v.optional(v.array(RoomSummarySchema), []),
  /**
   * Asked with `?room=NAME`: that room's members as the relay's directory
   * knows them, most recently heard first, so a newcomer links to them as
   * soon as it reaches the relay (before the directory's roster arrives).
   * Each entry is a roster entry of the directory (protocol/directory.ts),
   * checked there: the page's first load need not carry the directory's
   * schemas twice.
   */
  roster: v.optional(v.array(v.unknown()), []),
  /** Path of the firehose WebSocket on this HTTP origin. */
  firehose: v.string(),
  /** The model proxy, when the relay has a model endpoint, else null. */
  llm: v.nullable(RelayLlmSchema)
})
export type RelayInfo = v.InferOutput<typeof RelayInfoSchema>

/** One entry of a room's history: a line, or an action or decision filed under the line before it. */
const HistoryEntrySchema = v.object({
  seq: v.pipe(v.number(), v.integer(), v.minValue(0)),
  /** ms since the epoch, when the relay saw it */
  time: v.number(),
  kind: v.picklist(['line', 'action', 'decision']),
  line: v.nullable(v.string()),
  peer: v.string(),
  /** The payload as it travelled (check it with its topic's schema). */
  payload: v.unknown()
})

/** `GET /api/rooms/NAME/history?since=SEQ&limit=N`: the room's entries after SEQ, oldest first. */
export const HistoryPageSchema = v.object({
  room: v.string(),
  entries: v.array(HistoryEntrySchema),
  /** More entries follow: ask again with `since` = `next`. */
  more: v.boolean(),
  next: v.nullable(v.number())
})
export type HistoryPage = v.InferOutput<typeof HistoryPageSchema>
export type HistoryEntry = v.InferOutput<typeof HistoryEntrySchema>

/**
 * A room's history over libp2p, for peers that reach a relay without HTTP
 * (headless companions): the asker sends `{"room","since"?,"limit"?}` (JSON)
 * and closes its side; the relay answers a history page (`HistoryPageSchema`)
 * or `{"error":{"code","message"}}`, and closes.
 */
export const HISTORY_PROTOCOL = '/kotoba/history/1.0.0'

export const HistoryRequestSchema = v.object({
  room: v.string(),
  since: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 0),
  limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000)), 500)
})

/** The path of a page of a room's history. */
export const historyPath = (room: string, since: number): string => `/api/rooms/${room}/history?since=${since}`

/** Checks an answer against a schema; the message says what is wrong with it. */
function parseAnswer<S extends v.GenericSchema> (schema: S, value: unknown): { ok: true, value: v.InferOutput<S> } | { ok: false, message: string } {
  const result = v.safeParse(schema, value)
  if (result.success) return { ok: true, value: result.output }
  const issue = result.issues[0]
  return { ok: false, message: `${v.getDotPath(issue) ?? 'answer'}: ${issue.message}` }
}

/** Checks an `/api/relay` answer; the message says what is wrong with it. */
export function parseRelayInfo (value: unknown): { ok: true, info: RelayInfo } | { ok: false, message: string } {
  const parsed = parseAnswer(RelayInfoSchema, value)
  return parsed.ok ? { ok: true, info: parsed.value } : parsed
}

/** Checks a history page. */
export const parseHistoryPage = (value: unknown): ReturnType<typeof parseAnswer<typeof HistoryPageSchema>> => parseAnswer(HistoryPageSchema, value)

/** A model file a relay serves for companions that think in the tab (`--models DIR`). */
export const ModelInfoSchema = v.object({
  /** The file's name, `*.gguf`. */
  name: v.string(),
  size: v.pipe(v.number(), v.integer(), v.minValue(0)),
  /** Lowercase hex. */
  sha256: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
  /** Where to get it, on the relay (range requests allowed). */
  url: v.string()
})
export type ModelInfo = v.InferOutput<typeof ModelInfoSchema>

/** `GET /api/models`: the model files the relay serves (none without `--models`). */
export const ModelListSchema = v.object({ models: v.array(ModelInfoSchema) })

/** Checks an `/api/models` answer. */
export const parseModelList = (value: unknown): ReturnType<typeof parseAnswer<typeof ModelListSchema>> => parseAnswer(ModelListSchema, value)

/**
 * The cookie a page sets while its browser's companions think with a model in
 * the tab (web/session-brain.ts): the relay then serves the page cross-origin
 * isolated (COOP + COEP, relay/http-server.ts), which multi-threaded
 * WebAssembly needs. Without it the page is not isolated: isolation puts a
 * page in a browsing context group, and a process, of its own, which cost a
 * new tab 25-45 ms before its first line ran (docs/benchmarks.md), for
 * threads only a model in the tab uses.
 */
export const THREADS_COOKIE = 'kotoba-threads'

/** The `document.cookie` assignment that asks for threads from the next load on (`on`), or stops asking. */
export function threadsCookie (on: boolean): string {
  return on ? `${THREADS_COOKIE}=1; path=/; max-age=31536000; samesite=strict` : `${THREADS_COOKIE}=; path=/; max-age=0; samesite=strict`
}

/** Whether a request's Cookie header asks for threads. */
export function asksForThreads (cookieHeader: string | undefined): boolean {
  return cookieHeader?.split(';').some(pair => pair.trim() === `${THREADS_COOKIE}=1`) === true
}
