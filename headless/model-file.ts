/**
 * A GGUF model file, run in this Node process by the same engine the page
 * runs (@wllama/wllama: llama.cpp compiled to WebAssembly, in a worker
 * thread), so a headless companion needs no model server. Refuses, in
 * words a person can act on, a file that is missing, is not GGUF, or does
 * not fit in memory.
 */
import { openAsBlob } from 'node:fs'
import { stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { basename } from 'node:path'
import { freemem } from 'node:os'
import type { LocalModel } from '../companion/local-model.ts'
import { ENGINE_LOGGER, NO_ENGINE_STORAGE, checkLoaded, wllamaModel } from '../companion/local-model.ts'
import { installWebWorker } from './web-worker.ts'
import { isGgufFile } from '../host/gguf-file.ts'

export interface LoadedModelFile {
  model: LocalModel
  /** File size (bytes). */
  size: number
  /** Time to load it into the engine (ms). */
  loadMs: number
}

export interface ModelFileOptions {
  /** Context window in tokens (default 4096, or less when the model was trained on less). */
  contextTokens?: number
}

/** llama.cpp needs the weights and some room besides (context, compute buffers). */
const MEMORY_HEADROOM = 1.2

export class ModelFileError extends Error {
  override name = 'ModelFileError'
}

async function checkFile (path: string): Promise<number> {
  let size: number
  try {
    const info = await stat(path)
    if (!info.isFile()) throw new ModelFileError(`--model ${path} is not a file`)
    size = info.size
  } catch (err) {
    if (err instanceof ModelFileError) throw err
    throw new ModelFileError(`--model ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  if (!await isGgufFile(path)) throw new ModelFileError(`--model ${path} is not a GGUF model file (it does not start with "GGUF")`)
  if (size * MEMORY_HEADROOM > freemem()) {
    throw new ModelFileError(`--model ${path} needs about ${Math.ceil(size * MEMORY_HEADROOM / 2 ** 20)} MiB of memory; ${Math.floor(freemem() / 2 ** 20)} MiB are free`)
  }
  return size
}

/** Loads `path` into a wllama engine in a worker thread. */
export async function loadModelFile (path: string, options: ModelFileOptions = {}): Promise<LoadedModelFile> {
  const size = await checkFile(path)
  installWebWorker()
  const { Wllama, CacheManager } = await import('@wllama/wllama/esm/index.js')
  const wasm = createRequire(import.meta.url).resolve('@wllama/wllama/esm/wasm/wllama.wasm')
  const engine = new Wllama({ default: wasm }, { suppressNativeLog: true, logger: ENGINE_LOGGER, cacheManager: new CacheManager([NO_ENGINE_STORAGE]) })
  engine.setCompat(null)
  const started = Date.now()
  try {
    const blob = await openAsBlob(path)
    await engine.loadModel([blob], { n_ctx: options.contextTokens ?? 4096, n_threads: 1 })
    checkLoaded(engine)
  } catch (err) {
    await engine.exit().catch(() => {})
    throw new ModelFileError(`--model ${path} could not be loaded: ${(err as Error).message ?? String(err)}`)
  }
  return { model: wllamaModel(engine, basename(path)), size, loadMs: Date.now() - started }
}
