/**
 * The engine of the companion that thinks in the tab: @wllama/wllama
 * (llama.cpp compiled to WebAssembly), which runs the model in its own Web
 * Worker, so inference never blocks the page. Multi-threaded when the page
 * is cross-origin isolated (the relay serves localhost pages so), one
 * thread otherwise. Its code and its 8.7 MB WebAssembly load only when a
 * person chooses this brain. Nothing is fetched from anywhere but this
 * page's origin: no CDN fallback (compat builds are switched off).
 */
import { CacheManager, Wllama } from '@wllama/wllama/esm/index.js'
import wasmUrl from '@wllama/wllama/esm/wasm/wllama.wasm?url'
import type { LocalModel } from '../companion/local-model.ts'
import { ENGINE_LOGGER, NO_ENGINE_STORAGE, checkLoaded, wllamaModel } from '../companion/local-model.ts'

/** What this browser lacks to run the engine ('' when it has it all). */
export function engineSupportProblem (): string {
  const wasm = globalThis.WebAssembly as typeof WebAssembly & { Suspending?: unknown }
  if (wasm === undefined) return 'this browser has no WebAssembly'
  if (wasm.Suspending === undefined) return 'this browser lacks WebAssembly JSPI, which the in-tab model needs (Chromium 137 or later has it)'
  try {
    // eslint-disable-next-line no-new
    new WebAssembly.Memory({ address: 'i64', initial: 1n } as unknown as WebAssembly.MemoryDescriptor)
  } catch {
    return 'this browser lacks WebAssembly memory64, which the in-tab model needs (Chromium 133 or later has it)'
  }
  return ''
}

export interface TabEngineInfo {
  threads: number
  loadMs: number
}

/** Loads `file` into a new engine; throws an Error that says what failed. */
export async function loadTabModel (file: Blob, name: string): Promise<{ model: LocalModel, info: TabEngineInfo }> {
  const problem = engineSupportProblem()
  if (problem !== '') throw new Error(problem)
  const engine = new Wllama({ default: wasmUrl }, { suppressNativeLog: true, logger: ENGINE_LOGGER, cacheManager: new CacheManager([NO_ENGINE_STORAGE]) })
  engine.setCompat(null)
  const started = performance.now()
  try {
    await engine.loadModel([file], { n_ctx: 4096 })
    checkLoaded(engine)
  } catch (err) {
    await engine.exit().catch(() => {})
    const message = (err as Error).message ?? String(err)
    throw new Error(/memory|allocat|out of bounds|RangeError/i.test(`${(err as Error).name} ${message}`)
      ? `not enough memory to load ${name} in this tab (${message})`
      : `could not load ${name}: ${message}`)
  }
  return { model: wllamaModel(engine, name), info: { threads: engine.getNumThreads(), loadMs: Math.round(performance.now() - started) } }
}
