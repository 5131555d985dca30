/**
 * Model files for companions that think in the tab (`--models DIR`): the
 * GGUF files of a folder, listed at `/api/models` with their size and
 * sha256, and served at `/models/NAME` with range requests (a page resumes,
 * or reads a file in parts) and caching headers (the sha256 is the ETag).
 *
 * The folder is read at start: each `*.gguf` file directly in it whose first
 * bytes say GGUF is hashed once (in the background, listed when done; the
 * hashes are kept in `<data dir>/models.json` by name, size and mtime, so a
 * restart does not read gigabytes again). Anything else is left out, with
 * a line in the log saying why. The models a host's Ollama has pulled can be
 * listed too, served from Ollama's own store (ollama-models.ts); models
 * fetched later into the folder are added once whole (model-fetch.ts).
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readFile, readdir, stat, writeFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import type { ModelInfo } from '../protocol/relay-api.ts'
import type { Logger } from '../p2p/logger.ts'
import { isGgufFile } from '../host/gguf-file.ts'
import { readOllamaStore } from './ollama-models.ts'

/** A model file's name: no path, ends in .gguf. */
export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}\.gguf$/

interface ModelFile extends ModelInfo { path: string }

interface HashCache { [name: string]: { size: number, mtimeMs: number, sha256: string } }

export interface ModelLibrary {
  /** The models ready to serve (hashed), by name. */
  list: () => ModelInfo[]
  /** Resolves when every file found at start has been hashed (or refused). */
  ready: Promise<void>
  /** Lists a file that came into the folder after start (a model fetched), once hashed; false if refused. */
  add: (name: string) => Promise<boolean>
  /** Serves `GET`/`HEAD /models/NAME`; false if NAME is not a model of the library. */
  serve: (name: string, req: IncomingMessage, res: ServerResponse) => boolean
}

/** A file's sha256, lowercase hex, read a MiB at a time. */
export async function sha256Of (path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** Where the library's models come from: a folder of GGUF files, an Ollama store, or both. */
export interface ModelSources {
  /** `--models DIR`: its `*.gguf` files, hashed once. */
  dir?: string
  /** `--models ollama` or `--ollama-models DIR`: the models Ollama has pulled, served from its blobs. */
  ollama?: string
}

/** Answers a request for a model file: whole, or the range asked for (`If-Range`), or 304 when the client has it. */
function serveModelFile (model: ModelFile, req: IncomingMessage, res: ServerResponse): void {
  const etag = `"${model.sha256}"`
  const headers: Record<string, string | number> = {
    'content-type': 'application/octet-stream',
    'accept-ranges': 'bytes',
    etag,
    // A name may be given other contents later: the page revalidates (304), and keeps its own copy.
    'cache-control': 'public, max-age=0, must-revalidate'
  }
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers).end()
    return
  }
  let start = 0
  let end = model.size - 1
  let status = 200
  const range = req.headers.range
  const ifRange = req.headers['if-range']
  if (range !== undefined && (ifRange === undefined || ifRange === etag)) {
    const match = /^bytes=(\d*)-(\d*)$/.exec(range.trim())
    const from = match?.[1] === '' ? undefined : Number(match?.[1])
    const to = match?.[2] === '' ? undefined : Number(match?.[2])
    if (match === null || (from === undefined && to === undefined)) {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${model.size}` }).end()
      return
    }
    if (from === undefined) start = Math.max(0, model.size - (to as number)) // the last N bytes
    else { start = from; end = to === undefined ? model.size - 1 : Math.min(to, model.size - 1) }
    if (start >= model.size || start > end) {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${model.size}` }).end()
      return
    }
    status = 206
    headers['content-range'] = `bytes ${start}-${end}/${model.size}`
  }
  headers['content-length'] = end - start + 1
  res.writeHead(status, headers)
  if (req.method === 'HEAD' || model.size === 0) {
    res.end()
    return
  }
  const stream = createReadStream(model.path, { start, end })
  stream.on('error', () => { res.destroy() })
  res.on('close', () => { stream.destroy() })
  stream.pipe(res)
}

export function openModelLibrary (sources: ModelSources, options: { cacheFile: string, log: Logger }): ModelLibrary {
  const { cacheFile, log } = options
  const models = new Map<string, ModelFile>()

  let cache: HashCache = {}
  const keepHashes = async (): Promise<void> => {
    await writeFile(cacheFile, JSON.stringify(cache)).catch((err: Error) => { log.warn(`models: cannot keep the hashes in ${cacheFile}: ${err.message}`) })
  }
  /** Checks, hashes (unless the cache knows it) and lists one file of the folder. */
  const list = async (dir: string, name: string): Promise<boolean> => {
    const path = join(dir, name)
    try {
      if (!MODEL_NAME.test(name)) throw new Error('a model file name is letters, digits, dots, dashes and underscores, ending in .gguf')
      const info = await stat(path)
      if (!info.isFile()) throw new Error('not a file')
      if (!await isGgufFile(path)) throw new Error('not a GGUF file (its first bytes are not "GGUF")')
      const known = cache[name]
      const sha256 = known !== undefined && known.size === info.size && known.mtimeMs === info.mtimeMs ? known.sha256 : await sha256Of(path)
      cache[name] = { size: info.size, mtimeMs: info.mtimeMs, sha256 }
      models.set(name, { name, size: info.size, sha256, url: `/models/${name}`, path })
      log.info(`models: ${name} (${(info.size / 1048576).toFixed(1)} MiB, sha256 ${sha256.slice(0, 12)}…)`)
      return true
    } catch (err) {
      log.warn(`models: left out ${name}: ${(err as Error).message}`)
      return false
    }
  }

  const readFolder = async (dir: string): Promise<void> => {
    let names: string[]
    try {
      names = (await readdir(dir)).sort()
    } catch (err) {
      log.warn(`models: cannot read ${dir}: ${(err as Error).message}`)
      return
    }
    let kept: HashCache = {}
    try { kept = JSON.parse(await readFile(cacheFile, 'utf8')) as HashCache } catch { /* none yet, or unreadable: hash again */ }
    // Only the files still here are kept in the cache.
    cache = {}
    for (const name of names) {
      if (!name.endsWith('.gguf')) continue
      if (Object.hasOwn(kept, name)) cache[name] = kept[name]
      if (!await list(dir, name)) delete cache[name]
    }
    await keepHashes()
  }

  const ready = (async () => {
    if (sources.dir !== undefined) await readFolder(sources.dir)
    if (sources.ollama === undefined) return
    for (const model of await readOllamaStore(sources.ollama, log)) {
      // A file of the folder keeps its name.
      if (models.has(model.name)) {
        log.warn(`models: left out Ollama's ${model.name}: a file of ${sources.dir ?? 'the folder'} has that name`)
        continue
      }
      models.set(model.name, model)
      log.info(`models: ${model.name} from Ollama (${(model.size / 1048576).toFixed(1)} MiB, sha256 ${model.sha256.slice(0, 12)}…)`)
    }
  })()

  const add = async (name: string): Promise<boolean> => {
    await ready
    if (sources.dir === undefined) return false
    const listed = await list(sources.dir, name)
    if (listed) await keepHashes()
    return listed
  }

  const serve = (name: string, req: IncomingMessage, res: ServerResponse): boolean => {
    let decoded: string
    try { decoded = decodeURIComponent(name) } catch { return false }
    const model = models.get(decoded)
    if (model === undefined) return false
    serveModelFile(model, req, res)
    return true
  }

  return {
    list: () => [...models.values()].map(({ name, size, sha256, url }) => ({ name, size, sha256, url })),
    ready,
    add,
    serve
  }
}
