/**
 * The models a LAN host's Ollama has pulled, for the relay to serve as they
 * are (`--models ollama`, `--ollama-models DIR`): read from Ollama's
 * manifests (`manifests/<registry>/<namespace>/<model>/<tag>`, JSON whose
 * `application/vnd.ollama.image.model` layer names the GGUF blob by its
 * sha256) and served from its blob store (`blobs/sha256-<hex>`), never
 * copied. The digest is the file's sha256, so nothing is hashed again.
 */
import { statSync } from 'node:fs'
import { readFile, readdir, stat } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, relative, sep } from 'node:path'
import * as v from 'valibot'
import { isGgufFile } from '../host/gguf-file.ts'
import type { Logger } from '../p2p/logger.ts'
import type { ModelInfo } from '../protocol/relay-api.ts'

/** A model Ollama holds: what `/api/models` lists, and the blob it is served from. */
export interface OllamaModel extends ModelInfo { path: string }

const MODEL_LAYER = 'application/vnd.ollama.image.model'

const ManifestSchema = v.object({
  layers: v.array(v.object({ mediaType: v.string(), digest: v.string(), size: v.number() }))
})

/** Where Ollama keeps its models on this host: `OLLAMA_MODELS`, else the user's, else the service's store. */
export function findOllamaStore (env: Record<string, string | undefined>): string | undefined {
  const candidates = [env.OLLAMA_MODELS, join(env.HOME ?? homedir(), '.ollama', 'models'), '/usr/share/ollama/.ollama/models']
  return candidates.find(dir => dir !== undefined && dir !== '' && statSync(join(dir, 'manifests'), { throwIfNoEntry: false })?.isDirectory() === true)
}

/**
 * Ollama's name for a manifest, as a model file name: `library/llama3.2/1b`
 * becomes `llama3.2-1b.gguf`, `library/qwen2.5/latest` `qwen2.5.gguf`, and a
 * user's `alice/mymodel/v1` `alice-mymodel-v1.gguf`.
 */
export function ollamaFileName (manifestPath: string): string | undefined {
  const parts = manifestPath.split(/[\\/]/)
  if (parts.length < 3) return undefined
  const [namespace, model, tag] = parts.slice(-3)
  const name = [...(namespace === 'library' ? [] : [namespace]), model, ...(tag === 'latest' ? [] : [tag])].join('-')
  const file = `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.gguf`
  return /^[A-Za-z0-9]/.test(file) ? file : undefined
}

async function manifestsIn (dir: string): Promise<string[]> {
  const found: string[] = []
  const walk = async (at: string, depth: number): Promise<void> => {
    for (const entry of await readdir(at, { withFileTypes: true })) {
      const path = join(at, entry.name)
      if (entry.isDirectory() && depth < 4) await walk(path, depth + 1)
      else if (entry.isFile()) found.push(path)
    }
  }
  await walk(dir, 0)
  return found.sort()
}

/** The GGUF models of an Ollama store; what cannot be served is left out with a log line. */
export async function readOllamaStore (store: string, log: Logger): Promise<OllamaModel[]> {
  const manifests = join(store, 'manifests')
  let paths: string[]
  try {
    paths = await manifestsIn(manifests)
  } catch (err) {
    log.warn(`models: cannot read Ollama's models in ${store}: ${(err as Error).message}`)
    return []
  }
  const models: OllamaModel[] = []
  for (const path of paths) {
    const id = relative(manifests, path).split(sep).join('/')
    try {
      const name = ollamaFileName(id)
      if (name === undefined) throw new Error('not a manifest of a model')
      const parsed = v.safeParse(ManifestSchema, JSON.parse(await readFile(path, 'utf8')))
      if (!parsed.success) throw new Error('not an Ollama manifest')
      const layer = parsed.output.layers.find(l => l.mediaType === MODEL_LAYER)
      if (layer === undefined) throw new Error('it has no model layer')
      const sha256 = /^sha256:([0-9a-f]{64})$/.exec(layer.digest)?.[1]
      if (sha256 === undefined) throw new Error(`its model layer's digest ${layer.digest} is not a sha256`)
      const blob = join(store, 'blobs', `sha256-${sha256}`)
      const info = await stat(blob).catch(() => undefined)
      if (info === undefined || !info.isFile()) throw new Error('its model blob is missing')
      if (info.size !== layer.size) throw new Error(`its model blob has ${info.size} bytes, the manifest says ${layer.size}`)
      if (!await isGgufFile(blob)) throw new Error('its model is not a GGUF file')
      if (models.some(m => m.name === name)) throw new Error(`another model is already listed as ${name}`)
      models.push({ name, size: info.size, sha256, url: `/models/${name}`, path: blob })
    } catch (err) {
      log.warn(`models: left out Ollama's ${id}: ${(err as Error).message}`)
    }
  }
  return models
}
