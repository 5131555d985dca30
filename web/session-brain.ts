/**
 * The brain of the tab's companion: the one chosen (kept for this browser),
 * switched at once, or, for a model run in the tab, once it is downloaded,
 * checked and loaded (the previous brain thinking meanwhile, and staying if
 * that fails or is cancelled); and a quick test of a model endpoint.
 */
import type { Companion } from '../companion/companion.ts'
import type { LocalModel } from '../companion/local-model.ts'
import type { RelayLlm } from '../protocol/relay-api.ts'
import { brainFor, checkModelEndpoint, describeChoice, endpointFor, saveBrainChoice } from './brain-choice.ts'
import type { BrainChoice } from './brain-choice.ts'
import type { CompanionState } from './companion-state.svelte.ts'
import type { TabBrain } from './tab-brain.ts'

export interface SessionBrain {
  /**
   * Switches brain (and remembers the choice for this browser). A model in
   * the tab switches once it is ready (`state.modelJob` follows it); the
   * previous brain thinks meanwhile and stays if it fails.
   */
  setBrain: (choice: BrainChoice) => { ok: true } | { ok: false, message: string }
  /** Stops getting the model ready (download or load); the previous brain stays. */
  cancelModel: () => void
  /** The model thinking in this tab now, if one is. */
  tabModel: () => LocalModel | undefined
  /** One small request to the choice's endpoint: its round trip, or what went wrong. */
  testBrain: (choice: BrainChoice) => Promise<{ ok: true, ms: number } | { ok: false, message: string }>
  /** Stops readying a model, and unloads the one in the tab. */
  stop: () => Promise<void>
}

export interface SessionBrainPlace {
  /** Where the choice is kept (localStorage). */
  storage: Pick<Storage, 'getItem' | 'setItem'>
  /** The page's origin, to reach the relay's model proxy. */
  origin: string
  relayLlm: RelayLlm | null
  cardId: string
  /** The choice kept from before: a model in the tab is readied at once. */
  saved: BrainChoice
  /**
   * Asks the relay, from the next load on, for the page cross-origin isolated
   * (threads for a model in the tab: THREADS_COOKIE, protocol/relay-api.ts), or
   * stops asking; kept in step with the kept choice.
   */
  askThreads: (on: boolean) => void
  /** This page is not cross-origin isolated, and would be after a reload that asked for it (a secure context). */
  threadsAfterReload: boolean
}

/** How long the engine took to load, and on what. */
function loadedOn (ready: Pick<TabBrain, 'engine'>): string {
  const { loadMs, threads, compat } = ready.engine
  return `loaded in ${loadMs} ms on ${threads} thread${threads === 1 ? '' : 's'}${compat ? ' (compatibility build: slower)' : ''}`
}

/** What the Brain panel says once the model thinks. `threadsAfterReload`: see SessionBrainPlace. */
function readyMessage (name: string, ready: TabBrain, threadsAfterReload: boolean): string {
  if (ready.obtained === undefined) return `${name}: thinking with the engine another tab of this browser loaded (${loadedOn(ready).replace(/^loaded /, '')})`
  const how = ready.obtained.downloaded ? `downloaded (${(ready.obtained.size / 1e6).toFixed(1)} MB), sha256 checked` : 'found in this browser\'s storage'
  const kept = ready.obtained.keepProblem === '' ? '' : `; not kept: ${ready.obtained.keepProblem}`
  const reload = threadsAfterReload && ready.engine.threads === 1 ? '; reload the page to run it on several threads' : ''
  return `${name}: ${how}, ${loadedOn(ready)}${kept}${reload}`
}

export function startSessionBrain (companion: Companion, state: CompanionState, place: SessionBrainPlace): SessionBrain {
  // A model running in this tab: the one thinking now, and the one being readied.
  let tabModel: LocalModel | undefined
  let readying: AbortController | undefined
  const useBrain = (brain: Parameters<Companion['setBrain']>[0], choice: BrainChoice, model?: LocalModel): void => {
    companion.setBrain(brain)
    const previous = tabModel
    tabModel = model
    if (previous !== model) void previous?.unload()
    saveBrainChoice(place.storage, choice)
    place.askThreads(choice.kind === 'tab')
    state.brain = choice
    state.brainError = ''
  }
  const readyTabModel = async (choice: Extract<BrainChoice, { kind: 'tab' }>): Promise<void> => {
    readying?.abort()
    const job = new AbortController()
    readying = job
    const { name } = choice.model
    const view = (phase: NonNullable<CompanionState['modelJob']>['phase'], loaded: number, total: number | null, message = ''): void => {
      if (readying === job) state.modelJob = { name, phase, loaded, total, message }
    }
    view('checking', 0, choice.model.size ?? null)
    try {
      const { prepareTabBrain } = await import('./tab-brain.ts')
      const ready = await prepareTabBrain(choice.model, place.cardId, (p) => { view(p.phase, p.loaded, p.total) }, job.signal)
      if (readying !== job) { await ready.model.unload(); return }
      readying = undefined
      useBrain(ready.brain, choice, ready.model)
      const size = ready.obtained?.size ?? choice.model.size ?? 0
      state.modelJob = { name, phase: 'ready', loaded: size, total: size, message: readyMessage(name, ready, place.threadsAfterReload), engine: ready.shared?.here() === false ? 'other-tab' : 'here' }
      // The tab that held the engine closed, and this one took it over.
      ready.shared?.onTakeOver((info) => {
        if (tabModel !== ready.model) return
        state.modelJob = { name, phase: 'ready', loaded: size, total: size, message: `${name}: this tab took the engine over from a tab that closed; ${loadedOn({ ...ready, engine: info })}`, engine: 'here' }
      })
    } catch (err) {
      if (readying !== job) return
      readying = undefined
      const cancelled = (err as { cancelled?: boolean }).cancelled === true
      const current = state.modelJob
      state.modelJob = {
        name,
        phase: cancelled ? 'cancelled' : 'failed',
        loaded: current?.loaded ?? 0,
        total: current?.total ?? null,
        message: `${(err as Error).message}; still thinking with the ${describeChoice(state.brain, place.relayLlm)}`
      }
    }
  }
  // Kept in step with the kept choice (a browser may have chosen before the page asked for threads).
  place.askThreads(place.saved.kind === 'tab')
  if (place.saved.kind === 'tab') void readyTabModel(place.saved)

  return {
    setBrain: (choice) => {
      if (choice.kind === 'tab') {
        if (choice.model.url.trim() === '') return { ok: false, message: 'choose a model the relay offers, or give the URL of a GGUF file' }
        void readyTabModel(choice)
        return { ok: true }
      }
      const chosen = brainFor(choice, place.relayLlm, place.origin, place.cardId)
      if (chosen.problem !== undefined) return { ok: false, message: chosen.problem }
      readying?.abort()
      readying = undefined
      if (state.modelJob !== null && !['ready', 'failed', 'cancelled'].includes(state.modelJob.phase)) state.modelJob = null
      useBrain(chosen.brain, choice)
      return { ok: true }
    },
    cancelModel: () => { readying?.abort() },
    tabModel: () => tabModel,
    testBrain: async (choice) => {
      if (choice.kind !== 'llm') return { ok: true, ms: 0 }
      const resolved = endpointFor(choice, place.relayLlm, place.origin)
      if (!resolved.ok) return resolved
      try {
        return { ok: true, ms: await checkModelEndpoint(resolved.endpoint, AbortSignal.timeout(60_000)) }
      } catch (err) {
        return { ok: false, message: (err as Error).message }
      }
    },
    stop: async () => {
      readying?.abort()
      await tabModel?.unload()
    }
  }
}
