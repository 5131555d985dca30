/**
 * A brain that thinks in this tab: the model file obtained (stored copy, or
 * downloaded with progress, checked and kept: model-store.ts), loaded into
 * the engine (tab-model.ts, its own Web Worker), and wrapped as the model
 * brain (companion/llm-brain.ts). The engine's code loads only here, when a
 * person chooses this brain. Every failure is an Error whose message says
 * what to do; the caller keeps the previous brain.
 */
import type { Brain } from '../companion/brain.ts'
import type { LocalModel } from '../companion/local-model.ts'
import type { ModelProgress, ModelSource, ObtainedModel } from './model-store.ts'

export type TabBrainPhase = ModelProgress['phase'] | 'checking' | 'loading'

export interface TabBrainProgress {
  phase: TabBrainPhase
  loaded: number
  total: number | null
}

export interface TabBrain {
  brain: Brain
  model: LocalModel
  obtained: Omit<ObtainedModel, 'blob'> & { size: number }
  threads: number
  compat: boolean
  loadMs: number
}

/** `seed` seeds the built-in brain that judges when the model cannot in time (companion/llm-brain.ts). */
export async function prepareTabBrain (source: ModelSource, seed: string, onProgress: (progress: TabBrainProgress) => void, signal: AbortSignal): Promise<TabBrain> {
  onProgress({ phase: 'checking', loaded: 0, total: source.size ?? null })
  const [{ obtainModel, ModelStoreError }, engine, { createLocalBrain }, { createBuiltinBrain }] = await Promise.all([
    import('./model-store.ts'),
    import('./tab-model.ts'),
    import('../companion/llm-brain.ts'),
    import('../companion/builtin-brain.ts')
  ])
  const problem = engine.engineSupportProblem()
  if (problem !== '') throw new Error(problem)
  const { blob, ...obtained } = await obtainModel(source, { onProgress, signal })
  if (signal.aborted) throw new ModelStoreError(`the download of ${source.name} was cancelled`, true)
  onProgress({ phase: 'loading', loaded: blob.size, total: blob.size })
  const { model, info } = await engine.loadTabModel(blob, source.name)
  if (signal.aborted) {
    await model.unload()
    throw new ModelStoreError(`loading ${source.name} was cancelled`, true)
  }
  return { brain: createLocalBrain(model, createBuiltinBrain({ seed })), model, obtained: { ...obtained, size: blob.size }, threads: info.threads, compat: info.compat, loadMs: info.loadMs }
}
