/**
 * A brain that thinks in this tab: the model file obtained (stored copy, or
 * downloaded with progress, checked and kept: model-store.ts), loaded into
 * the engine (tab-model.ts, its own Web Worker), and wrapped as the model
 * brain (companion/llm-brain.ts). Tabs of one browser that think with the
 * same model share one engine (shared-engine.ts): the first loads it, the
 * others think with it and take it over in turn. The engine's code loads
 * only here, when a person chooses this brain. Every failure is an Error
 * whose message says what to do; the caller keeps the previous brain.
 */
import type { Brain } from '../companion/brain.ts'
import type { LocalModel } from '../companion/local-model.ts'
import type { ModelProgress, ModelSource, ObtainedModel } from './model-store.ts'
import type { EngineInfo, SharedEngine } from './shared-engine.ts'

export type TabBrainPhase = ModelProgress['phase'] | 'checking' | 'loading'

export interface TabBrainProgress {
  phase: TabBrainPhase
  loaded: number
  total: number | null
}

export type ObtainedHere = Omit<ObtainedModel, 'blob'> & { size: number }

export interface TabBrain {
  brain: Brain
  model: LocalModel
  /** How this tab got the file, when it loaded the engine itself (none: another tab of this browser did). */
  obtained?: ObtainedHere
  engine: EngineInfo
  /** The engine shared with the other tabs of this browser (null: this tab's own, unshared). */
  shared: SharedEngine | null
}

/** `seed` seeds the built-in brain that judges when the model cannot in time (companion/llm-brain.ts). */
export async function prepareTabBrain (source: ModelSource, seed: string, onProgress: (progress: TabBrainProgress) => void, signal: AbortSignal): Promise<TabBrain> {
  onProgress({ phase: 'checking', loaded: 0, total: source.size ?? null })
  const [{ obtainModel, ModelStoreError }, engine, { createLocalBrain }, { createBuiltinBrain }, { canShareEngine, openSharedEngine }] = await Promise.all([
    import('./model-store.ts'),
    import('./tab-model.ts'),
    import('../companion/llm-brain.ts'),
    import('../companion/builtin-brain.ts'),
    import('./shared-engine.ts')
  ])
  const problem = engine.engineSupportProblem()
  if (problem !== '') throw new Error(problem)
  let obtained: ObtainedHere | undefined
  /** Obtains the file and loads it here (at first, or taking the engine over later). */
  const loadHere = async (): Promise<{ model: LocalModel, info: EngineInfo }> => {
    const { blob, ...got } = await obtainModel(source, { onProgress, signal })
    if (signal.aborted) throw new ModelStoreError(`the download of ${source.name} was cancelled`, true)
    onProgress({ phase: 'loading', loaded: blob.size, total: blob.size })
    const loaded = await engine.loadTabModel(blob, source.name)
    obtained = { ...got, size: blob.size }
    if (signal.aborted) {
      await loaded.model.unload()
      throw new ModelStoreError(`loading ${source.name} was cancelled`, true)
    }
    return loaded
  }
  const judgeMeanwhile = createBuiltinBrain({ seed })
  if (!canShareEngine()) {
    const { model, info } = await loadHere()
    return { brain: createLocalBrain(model, judgeMeanwhile), model, ...(obtained === undefined ? {} : { obtained }), engine: info, shared: null }
  }
  // One engine per model file and build: a tab on the compatibility build does not share the main build's.
  const key = `${source.sha256 ?? `${source.url}|${source.size ?? ''}`}|${engine.needsCompatBuild() ? 'compat' : 'main'}`
  const shared = await openSharedEngine(key, source.name, loadHere, signal)
  return { brain: createLocalBrain(shared.model, judgeMeanwhile), model: shared.model, ...(obtained === undefined ? {} : { obtained }), engine: shared.info(), shared }
}
