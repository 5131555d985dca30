/**
 * Models fetched for the relay's `--models` folder (`--fetch-model
 * URL[#sha256=HEX]`): downloaded in the background while the relay already
 * serves, with progress in its log, resumed with a Range request when the
 * connection is cut, checked (GGUF header, size, sha256 when given), and
 * only then put under their `.gguf` name and listed. Until then the bytes
 * are in `.NAME.part`, which the library never lists; a file that fails a
 * check is removed.
 */
import { createWriteStream } from 'node:fs'
import { rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { isGgufFile } from '../host/gguf-file.ts'
import { Lifetime } from '../p2p/lifetime.ts'
import type { Logger } from '../p2p/logger.ts'
import { backoffDelay } from '../protocol/backoff.ts'
import { MODEL_NAME, sha256Of } from './model-files.ts'

/** A model to fetch: where from, the file name it gets, and its sha256 when known. */
export interface ModelFetchSpec {
  url: string
  name: string
  sha256?: string
}

/** Tries of one download, each going on from where the last was cut. */
const ATTEMPTS = 6
/** Progress is logged at most this often (ms). */
const PROGRESS_MS = 5000

/**
 * `URL[#sha256=HEX]`, as a person types it; throws a TypeError that says
 * what is wrong. The file is named by the URL's last path segment.
 */
export function parseModelFetch (text: string): ModelFetchSpec {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new TypeError(`--fetch-model ${text}: not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`--fetch-model ${text}: only http and https URLs can be fetched`)
  const hash = url.hash === '' ? undefined : /^#sha256=([0-9a-fA-F]{64})$/.exec(url.hash)?.[1]?.toLowerCase()
  if (url.hash !== '' && hash === undefined) throw new TypeError(`--fetch-model ${text}: after # give sha256= and the file's 64 hex digits`)
  url.hash = ''
  const name = decodeURIComponent(url.pathname.split('/').at(-1) ?? '')
  if (!MODEL_NAME.test(name)) throw new TypeError(`--fetch-model ${text}: the URL must end in a model file's name (letters, digits, dots, dashes, underscores, ending in .gguf)`)
  return { url: url.toString(), name, ...(hash === undefined ? {} : { sha256: hash }) }
}

export interface ModelFetches {
  /** Resolves when every fetch has ended, listed or refused. */
  done: Promise<void>
  /** Stops the downloads (what came is kept in `.part`, to go on from next time). */
  stop: () => void
}

/**
 * Fetches each model into `dir` unless a file of that name is there
 * already; `listed(name)` is called with each one downloaded and checked.
 */
export function startModelFetches (dir: string, specs: readonly ModelFetchSpec[], options: { log: Logger, listed: (name: string) => Promise<boolean> }): ModelFetches {
  const lifetime = new Lifetime()
  const done = Promise.all(specs.map(async (spec) => {
    try {
      const target = join(dir, spec.name)
      if (await exists(target)) return
      await fetchModel(dir, spec, options.log, lifetime)
      await options.listed(spec.name)
    } catch (err) {
      if (!lifetime.stopped) options.log.warn(`models: could not fetch ${spec.name} from ${spec.url}: ${(err as Error).message}`)
    }
  })).then(() => {})
  return { done, stop: () => { lifetime.stop() } }
}

async function exists (path: string): Promise<boolean> {
  return await stat(path).then(() => true, () => false)
}

const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`

/** Downloads one model into `.NAME.part`, going on after cuts, checks it, and gives it its name. */
async function fetchModel (dir: string, spec: ModelFetchSpec, log: Logger, lifetime: Lifetime): Promise<void> {
  const part = join(dir, `.${spec.name}.part`)
  let total: number | undefined
  for (let attempt = 1; ; attempt++) {
    const have = await stat(part).then(s => s.size, () => 0)
    try {
      total = await download(spec, part, have, log, lifetime)
      break
    } catch (err) {
      if (lifetime.stopped || err instanceof RefusedError || attempt >= ATTEMPTS) throw err
      const wait = backoffDelay(attempt, { first: 1000, max: 30_000 })
      log.warn(`models: fetching ${spec.name} was cut (${(err as Error).message}); going on in ${Math.round(wait / 1000)} s`)
      await new Promise<void>((resolve) => { lifetime.later(wait, resolve) })
    }
  }
  try {
    const size = (await stat(part)).size
    if (total !== undefined && size !== total) throw new Error(`got ${size} bytes of ${total}`)
    if (!await isGgufFile(part)) throw new Error('it is not a GGUF model file (its first bytes are not "GGUF")')
    if (spec.sha256 !== undefined) {
      const digest = await sha256Of(part)
      if (digest !== spec.sha256) throw new Error(`its sha256 is ${digest}, not ${spec.sha256}`)
    }
  } catch (err) {
    await rm(part, { force: true })
    throw err
  }
  await rename(part, join(dir, spec.name))
  log.info(`models: fetched ${spec.name} (${mib(total ?? 0)}${spec.sha256 === undefined ? '' : ', sha256 checked'})`)
}

/** A refusal that trying again will not mend (404, a server that will not say how much is left). */
class RefusedError extends Error {}

/** One request, from byte `have` on; resolves with the file's whole size when the server says it. */
async function download (spec: ModelFetchSpec, part: string, have: number, log: Logger, lifetime: Lifetime): Promise<number | undefined> {
  const response = await fetch(spec.url, { headers: have > 0 ? { range: `bytes=${have}-` } : {}, signal: lifetime.signal })
  if (response.status === 416 && have > 0) return have // all of it was here already
  if (response.status !== 200 && response.status !== 206) throw new RefusedError(`HTTP ${response.status}`)
  const resumed = response.status === 206
  if (resumed && !(response.headers.get('content-range') ?? '').startsWith(`bytes ${have}-`)) throw new RefusedError('the server resumed from another byte than asked')
  const length = Number(response.headers.get('content-length') ?? NaN)
  const total = resumed
    ? Number(/\/(\d+)$/.exec(response.headers.get('content-range') ?? '')?.[1] ?? NaN)
    : length
  const from = resumed ? have : 0
  if (resumed) log.info(`models: going on with ${spec.name} from ${mib(have)}`)
  if (response.body === null) throw new Error('no body')
  let got = from
  let told = Date.now()
  const counted = async function * (source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      got += chunk.length
      if (Date.now() - told >= PROGRESS_MS) {
        told = Date.now()
        log.info(`models: fetching ${spec.name}: ${Number.isFinite(total) ? `${Math.floor(got / total * 100)}% (${mib(got)} of ${mib(total)})` : mib(got)}`)
      }
      yield chunk
    }
  }
  await pipeline(response.body as unknown as AsyncIterable<Uint8Array>, counted, createWriteStream(part, { flags: resumed ? 'a' : 'w' }))
  if (Number.isFinite(total) && got < total) throw new Error(`the connection closed after ${mib(got)} of ${mib(total)}`)
  return Number.isFinite(total) ? total : undefined
}
