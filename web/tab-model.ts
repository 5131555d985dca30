/**
 * The engine of the companion that thinks in the tab: @wllama/wllama
 * (llama.cpp compiled to WebAssembly), which runs the model in its own Web
 * Worker, so inference never blocks the page. Multi-threaded when the page
 * is cross-origin isolated (the relay serves localhost pages so), one
 * thread otherwise; on the GPU where the browser offers WebGPU (wllama
 * offloads every layer it can). Its code and its 8.7 MB WebAssembly load only
 * when a person chooses this brain; a browser without JSPI or memory64 gets
 * the compatibility build instead (tab-model-compat.ts). Nothing is fetched
 * from anywhere but this page's origin (no CDN).
 */
import { CacheManager, Wllama } from '@wllama/wllama/esm/index.js'
import wasmUrl from '@wllama/wllama/esm/wasm/wllama.wasm?url'
import type { LocalModel } from '../companion/local-model.ts'
import { ENGINE_LOGGER, NO_ENGINE_STORAGE, checkLoaded, wllamaModel } from '../companion/local-model.ts'
import type { EngineInfo } from './shared-engine.ts'

/** What this browser lacks to run the engine at all ('' when nothing). */
export function engineSupportProblem (): string {
  if (globalThis.WebAssembly === undefined) return 'this browser has no WebAssembly, which the in-tab model needs'
  if (globalThis.Worker === undefined) return 'this browser has no Web Workers, which the in-tab model needs'
  return ''
}

/** The main build needs WebAssembly JSPI and memory64 (Chromium 137 and later have both); other browsers get the compat build. */
export function needsCompatBuild (): boolean {
  if ((WebAssembly as typeof WebAssembly & { Suspending?: unknown }).Suspending === undefined) return true
  try {
    // eslint-disable-next-line no-new
    new WebAssembly.Memory({ address: 'i64', initial: 1n } as unknown as WebAssembly.MemoryDescriptor)
    return false
  } catch {
    return true
  }
}

/** Loads `file` into a new engine; throws an Error that says what failed. */
export async function loadTabModel (file: Blob, name: string): Promise<{ model: LocalModel, info: EngineInfo }> {
  const problem = engineSupportProblem()
  if (problem !== '') throw new Error(problem)
  const compat = needsCompatBuild()
  const engine = new Wllama({ default: wasmUrl }, { suppressNativeLog: true, logger: ENGINE_LOGGER, cacheManager: new CacheManager([NO_ENGINE_STORAGE]) })
  engine.setCompat(compat ? (await import('./tab-model-compat.ts')).COMPAT_ASSETS : null, 'firefox_safari')
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
  return { model: wllamaModel(engine, name), info: { threads: engine.getNumThreads(), compat, loadMs: Math.round(performance.now() - started) } }
}
