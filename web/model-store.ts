/**
 * Model files for the companion that thinks in the tab: downloaded once
 * (progress in bytes, cancellable), checked (its sha256 when known, the GGUF
 * magic, the announced size), and kept in this browser's storage, so that a
 * reload or a second tab of the same browser finds the stored copy and does
 * not download again. Copies are keyed by their sha256 (a model listed by
 * the relay) or by their URL (one the person named).
 *
 * Storage: the Cache API where the page is a secure context (localhost,
 * https); a plain-http LAN page has neither the Cache API nor OPFS, so there
 * the copy is a Blob in IndexedDB. Refusals come out as `ModelStoreError`s
 * a person can act on; nothing half-downloaded or unverified is kept.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { isGgufHeader } from '../companion/local-model.ts'
import { inTransaction, openDatabase } from './indexed-db.ts'

export interface ModelSource {
  /** What the person sees: the file's name. */
  name: string
  url: string
  /** Lowercase hex, when known (the relay lists it): the download must match it. */
  sha256?: string
  /** Bytes, when known. */
  size?: number
}

export interface ModelProgress {
  phase: 'stored' | 'downloading' | 'storing'
  loaded: number
  total: number | null
}

export interface ObtainedModel {
  blob: Blob
  sha256: string
  /** It was downloaded now (not found stored). */
  downloaded: boolean
  /** Why the copy could not be kept, if it could not ('' when kept). */
  keepProblem: string
}

export class ModelStoreError extends Error {
  override name = 'ModelStoreError'
  /** The person cancelled the download. */
  readonly cancelled: boolean
  constructor (message: string, cancelled = false) {
    super(message)
    this.cancelled = cancelled
  }
}

interface StoredCopy { blob: Blob, sha256: string }

interface ModelShelf {
  get: (key: string) => Promise<StoredCopy | undefined>
  put: (key: string, copy: StoredCopy) => Promise<void>
}

const CACHE_NAME = 'kotoba-models-v1'
const SHA_HEADER = 'x-kotoba-sha256'

/** The Cache API, under made-up URLs of this origin that the relay never serves. */
function cacheShelf (caches: CacheStorage, origin: string): ModelShelf {
  const url = (key: string): string => `${origin}/.kotoba-model-copies/${encodeURIComponent(key)}`
  return {
    get: async (key) => {
      const response = await (await caches.open(CACHE_NAME)).match(url(key))
      const hash = response?.headers.get(SHA_HEADER)
      if (response === undefined || hash == null) return undefined
      return { blob: await response.blob(), sha256: hash }
    },
    put: async (key, copy) => {
      const headers = { 'content-type': 'application/octet-stream', 'content-length': String(copy.blob.size), [SHA_HEADER]: copy.sha256 }
      await (await caches.open(CACHE_NAME)).put(url(key), new Response(copy.blob, { headers }))
    }
  }
}

/** IndexedDB, for pages that are not a secure context. */
function indexedDbShelf (idb: IDBFactory): ModelShelf {
  const STORE = 'copies'
  const run = async <T>(mode: IDBTransactionMode, act: (store: IDBObjectStore) => IDBRequest): Promise<T> => {
    const db = await openDatabase(idb, CACHE_NAME, 1, (created) => { created.createObjectStore(STORE) })
    try {
      return await inTransaction<T>(db, STORE, mode, act)
    } finally {
      db.close()
    }
  }
  return {
    get: async (key) => await run<StoredCopy | undefined>('readonly', store => store.get(key)),
    put: async (key, copy) => { await run('readwrite', store => store.put(copy, key)) }
  }
}

function defaultShelf (): ModelShelf | undefined {
  if (globalThis.isSecureContext && globalThis.caches !== undefined) return cacheShelf(globalThis.caches, location.origin)
  if (globalThis.indexedDB !== undefined) return indexedDbShelf(globalThis.indexedDB)
  return undefined
}

export const megabytes = (bytes: number): string => `${(bytes / 1e6).toFixed(bytes < 10e6 ? 1 : 0)} MB`

/** How much memory a model file needs to run: its weights and room for the context. */
export const memoryNeeded = (size: number): number => size * 1.2 + 64e6

export interface ObtainOptions {
  onProgress?: (progress: ModelProgress) => void
  signal?: AbortSignal
}

/** The key a copy of `source` is kept under. */
const keyOf = (source: ModelSource): string => source.sha256 ?? `url:${source.url}`

async function checkRoom (source: ModelSource, size: number): Promise<void> {
  const deviceMemory = (navigator as Navigator & { deviceMemory?: number }).deviceMemory
  // Chromium tells the device's memory (rounded, at most 8 GB); a tab may take about half.
  if (deviceMemory !== undefined && memoryNeeded(size) > deviceMemory * 1e9 / 2) {
    throw new ModelStoreError(`not enough memory for ${source.name}: it needs about ${megabytes(memoryNeeded(size))} and this device has ${deviceMemory} GB; choose a smaller model`)
  }
  const estimate = await navigator.storage?.estimate?.().catch(() => undefined)
  if (estimate?.quota !== undefined) {
    const free = estimate.quota - (estimate.usage ?? 0)
    if (size > free) throw new ModelStoreError(`not enough storage in this browser for ${source.name}: it needs ${megabytes(size)} and ${megabytes(Math.max(0, free))} are free`)
  }
}

async function download (source: ModelSource, options: ObtainOptions): Promise<{ blob: Blob, sha256: string }> {
  const { signal } = options
  options.onProgress?.({ phase: 'downloading', loaded: 0, total: source.size ?? null })
  let response: Response
  try {
    response = await fetch(source.url, { signal, cache: 'no-store' })
  } catch (err) {
    if (signal?.aborted === true) throw new ModelStoreError(`the download of ${source.name} was cancelled`, true)
    throw new ModelStoreError(`could not download ${source.name} from ${source.url} (${(err as Error).message})`)
  }
  if (!response.ok || response.body === null) {
    throw new ModelStoreError(response.status === 404
      ? `${source.name} is not there: ${source.url} answered HTTP 404`
      : `could not download ${source.name}: ${source.url} answered HTTP ${response.status}`)
  }
  const announced = Number(response.headers.get('content-length') ?? NaN)
  const total = source.size ?? (Number.isFinite(announced) ? announced : null)
  if (total !== null) {
    await checkRoom(source, total)
    // A file chosen by URL: its size is known from here on.
    if (source.size === undefined) options.onProgress?.({ phase: 'downloading', loaded: 0, total })
  }
  const hash = sha256.create()
  const chunks: Uint8Array[] = []
  let loaded = 0
  let reported = 0
  const reader = response.body.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      loaded += value.byteLength
      if (total !== null && loaded > total) throw new ModelStoreError(`${source.name} is larger than announced (${megabytes(total)}): the file is not the one listed`)
      hash.update(value)
      chunks.push(value)
      if (loaded - reported > (total ?? 0) / 200 || loaded === total) {
        reported = loaded
        options.onProgress?.({ phase: 'downloading', loaded, total })
      }
    }
  } catch (err) {
    void reader.cancel().catch(() => {})
    if (err instanceof ModelStoreError) throw err
    if (signal?.aborted === true) throw new ModelStoreError(`the download of ${source.name} was cancelled`, true)
    throw new ModelStoreError(`the download of ${source.name} broke off after ${megabytes(loaded)} (${(err as Error).message})`)
  }
  options.onProgress?.({ phase: 'downloading', loaded, total: total ?? loaded })
  if (total !== null && loaded !== total) throw new ModelStoreError(`the download of ${source.name} stopped at ${megabytes(loaded)} of ${megabytes(total)}`)
  const digest = bytesToHex(hash.digest())
  if (source.sha256 !== undefined && digest !== source.sha256) {
    throw new ModelStoreError(`${source.name} does not match its sha256 (expected ${source.sha256.slice(0, 12)}…, got ${digest.slice(0, 12)}…): the file is corrupt or was changed, and was not kept`)
  }
  if (!isGgufHeader(chunks[0] ?? new Uint8Array())) throw new ModelStoreError(`${source.name} is not a GGUF model file`)
  return { blob: new Blob(chunks as BlobPart[]), sha256: digest }
}

/**
 * The model file of `source`: the stored copy if this browser has one, else
 * downloaded, checked, and kept. Throws `ModelStoreError`.
 */
export async function obtainModel (source: ModelSource, options: ObtainOptions = {}, shelf: ModelShelf | undefined = defaultShelf()): Promise<ObtainedModel> {
  const key = keyOf(source)
  const stored = await shelf?.get(key).catch(() => undefined)
  if (stored !== undefined && (source.sha256 === undefined || stored.sha256 === source.sha256)) {
    options.onProgress?.({ phase: 'stored', loaded: stored.blob.size, total: stored.blob.size })
    return { blob: stored.blob, sha256: stored.sha256, downloaded: false, keepProblem: '' }
  }
  if (source.size !== undefined) await checkRoom(source, source.size)
  const fresh = await download(source, options)
  let keepProblem = ''
  if (shelf === undefined) {
    keepProblem = 'this browser offers no storage to this page'
  } else {
    options.onProgress?.({ phase: 'storing', loaded: fresh.blob.size, total: fresh.blob.size })
    try {
      await shelf.put(key, fresh)
      // The kept copy is on disk: hand that on, and the downloaded bytes can go from memory.
      const kept = await shelf.get(key)
      if (kept !== undefined && kept.blob.size === fresh.blob.size) return { blob: kept.blob, sha256: fresh.sha256, downloaded: true, keepProblem }
    } catch (err) {
      keepProblem = `this browser would not keep it (${(err as Error).name}: ${(err as Error).message})`
    }
  }
  return { ...fresh, downloaded: true, keepProblem }
}
