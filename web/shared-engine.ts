/**
 * One engine per browser. Companion tabs of one browser that think with the
 * same model in the tab share one engine: one load, one copy in memory. The
 * tab that holds the Web Lock `kotoba-engine:<key>` loads the engine and
 * answers the others over the BroadcastChannel of the same name; the others
 * wait in line for the lock. When the holding tab closes (the browser frees
 * its lock) or thinks with something else, the next in line loads the
 * engine (from this browser's stored copy: model-store.ts) and takes over,
 * and the questions still waiting for an answer are asked of it again.
 *
 * Web Locks need a secure context (a page at localhost, or over https); a
 * page without them loads an engine of its own, as every tab did before.
 */
import { BrainError } from '../companion/brain.ts'
import type { LocalAnswer, LocalModel, LocalRequest } from '../companion/local-model.ts'
import { LOCAL_ANSWER_TIMEOUT_MS } from '../companion/local-model.ts'
import { Listeners } from '../protocol/listeners.ts'

/** What the tab that loaded the engine tells the others about it. */
export interface EngineInfo {
  threads: number
  /** It runs the compatibility build (slower). */
  compat: boolean
  loadMs: number
}

export interface LoadedEngine {
  model: LocalModel
  info: EngineInfo
}

export interface SharedEngine {
  /** Thinks with the engine: this tab's while it holds it, else the holding tab's, over the channel. */
  readonly model: LocalModel
  /** The engine runs in this tab. */
  here: () => boolean
  /** The engine as its holder described it. */
  info: () => EngineInfo
  /** Told when this tab takes the engine over from a tab that closed. Returns the unsubscribe. */
  onTakeOver: (listener: (info: EngineInfo) => void) => () => void
}

type Message =
  | { type: 'hello', from: string }
  | { type: 'ready', from: string, info: EngineInfo }
  | { type: 'failed', from: string, message: string }
  | { type: 'ask', from: string, id: string, request: LocalRequest }
  | { type: 'cancel', from: string, id: string }
  | { type: 'answer', to: string, id: string, answer?: LocalAnswer, error?: string }

/** Whether this page can share an engine with the other tabs of its browser. */
export function canShareEngine (): boolean {
  return typeof BroadcastChannel !== 'undefined' && typeof navigator !== 'undefined' && navigator.locks !== undefined
}

let loadsHere = 0
/** How many engines this page loaded (the tests count them across tabs). */
export const enginesLoaded = (): number => loadsHere

interface Waiting {
  request: LocalRequest
  signal: AbortSignal
  resolve: (answer: LocalAnswer) => void
  reject: (error: unknown) => void
}

/** Answers asked of the holder that it keeps to tell a repeated ask apart (bounded). */
const SERVED_LIMIT = 256

/**
 * Joins the engine `key` names (the model file and the build; `modelName`
 * is what a person sees): resolves once it is ready, loaded here by `load`
 * (this tab was first in line) or by another tab.
 * Rejects with the error that made the first load fail, or the abort.
 */
export async function openSharedEngine (key: string, modelName: string, load: () => Promise<LoadedEngine>, signal: AbortSignal): Promise<SharedEngine> {
  const name = `kotoba-engine:${key}`
  const self = crypto.randomUUID()
  const channel = new BroadcastChannel(name)
  /** Leaves the line for the lock, or frees the lock this tab holds. */
  const leave = new AbortController()
  let local: LoadedEngine | undefined
  let holder: string | undefined
  let info: EngineInfo | undefined
  let closed = false
  const waiting = new Map<string, Waiting>()
  const serving = new Map<string, AbortController>()
  const served = new Set<string>()
  const takeOvers = new Listeners<EngineInfo>()
  const post = (message: Message): void => { if (!closed) channel.postMessage(message) }

  let opened = false
  /** This tab is loading the engine (it stops on `signal` itself, with its own error). */
  let loading = false
  let open!: () => void
  let fail!: (error: unknown) => void
  const ready = new Promise<void>((resolve, reject) => { open = () => { opened = true; resolve() }; fail = reject })

  const runHere = (id: string, w: Waiting): void => {
    waiting.delete(id)
    local!.model.answer(w.request, w.signal).then(w.resolve, w.reject)
  }
  const serve = (from: string, id: string, request: LocalRequest): void => {
    const ask = `${from}|${id}`
    if (local === undefined || serving.has(ask) || served.has(ask)) return
    const stop = new AbortController()
    serving.set(ask, stop)
    local.model.answer(request, stop.signal).then(
      (answer) => { post({ type: 'answer', to: from, id, answer }) },
      (err: unknown) => { post({ type: 'answer', to: from, id, error: (err as Error).message ?? String(err) }) }
    ).finally(() => {
      serving.delete(ask)
      served.add(ask)
      if (served.size > SERVED_LIMIT) served.delete(served.values().next().value as string)
    })
  }

  channel.onmessage = (event: MessageEvent<Message>) => {
    const message = event.data
    switch (message.type) {
      case 'hello':
        if (local !== undefined) post({ type: 'ready', from: self, info: local.info })
        break
      case 'ready':
        if (local !== undefined || message.from === holder) break
        // A holder, new to us: ask it what is still waiting.
        holder = message.from
        info = message.info
        for (const [id, w] of waiting) post({ type: 'ask', from: self, id, request: w.request })
        open()
        break
      case 'failed':
        if (local !== undefined) break
        if (!opened) fail(new Error(message.message))
        for (const [id, w] of waiting) { waiting.delete(id); w.reject(new BrainError(message.message)) }
        break
      case 'ask':
        serve(message.from, message.id, message.request)
        break
      case 'cancel':
        serving.get(`${message.from}|${message.id}`)?.abort(new Error('cancelled by the tab that asked'))
        break
      case 'answer': {
        const w = message.to === self ? waiting.get(message.id) : undefined
        if (w === undefined) break
        waiting.delete(message.id)
        if (message.answer !== undefined) w.resolve(message.answer)
        else w.reject(new BrainError(message.error ?? 'the engine of another tab failed'))
        break
      }
    }
  }

  // In line for the engine: first in line loads it; the others take over in turn.
  void navigator.locks.request(name, { signal: leave.signal }, async () => {
    if (closed) return
    const takingOver = opened
    try {
      loading = true
      local = await load()
    } catch (err) {
      const message = (err as Error).message ?? String(err)
      post({ type: 'failed', from: self, message })
      for (const [id, w] of waiting) { waiting.delete(id); w.reject(new BrainError(message)) }
      fail(err)
      return
    } finally {
      loading = false
    }
    loadsHere++
    holder = self
    info = local.info
    post({ type: 'ready', from: self, info: local.info })
    for (const [id, w] of waiting) runHere(id, w)
    if (takingOver) takeOvers.tell(local.info)
    open()
    // Held until this tab stops thinking with it (or closes: the browser frees it).
    await new Promise<void>(resolve => { leave.signal.addEventListener('abort', () => { resolve() }, { once: true }) })
  }).catch(() => {})
  post({ type: 'hello', from: self })

  const unload = async (): Promise<void> => {
    if (closed) return
    for (const [id, w] of waiting) { waiting.delete(id); w.reject(new BrainError(`the model ${modelName} was unloaded`)) }
    for (const stop of serving.values()) stop.abort(new Error('unloaded'))
    const engine = local
    local = undefined
    closed = true
    channel.close()
    await engine?.model.unload()
    leave.abort()
  }
  const onAbort = (): void => {
    if (!loading) fail(Object.assign(new Error(`waiting for ${modelName} was cancelled`), { cancelled: true }))
    void unload()
  }
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    await ready
  } catch (err) {
    await unload()
    throw err
  } finally {
    signal.removeEventListener('abort', onAbort)
  }

  const model: LocalModel = {
    name: modelName,
    answer: async (request, signal) => {
      if (local !== undefined) return await local.model.answer(request, signal)
      if (closed) throw new BrainError('this tab no longer thinks with the shared engine')
      const id = crypto.randomUUID()
      return await new Promise<LocalAnswer>((resolve, reject) => {
        // The holder keeps its own deadline per answer; this one also covers a takeover.
        const deadline = AbortSignal.timeout(LOCAL_ANSWER_TIMEOUT_MS + 10_000)
        const either = AbortSignal.any([signal, deadline])
        const settle = (): void => { either.removeEventListener('abort', gaveUp) }
        const gaveUp = (): void => {
          if (!waiting.delete(id)) return
          post({ type: 'cancel', from: self, id })
          reject(signal.aborted ? signal.reason : new BrainError(`the engine in another tab did not answer within ${Math.round((LOCAL_ANSWER_TIMEOUT_MS + 10_000) / 1000)} s`))
        }
        either.addEventListener('abort', gaveUp, { once: true })
        waiting.set(id, { request, signal: either, resolve: (a) => { settle(); resolve(a) }, reject: (e) => { settle(); reject(e) } })
        if (holder !== undefined) post({ type: 'ask', from: self, id, request })
      })
    },
    unload
  }
  return {
    model,
    here: () => local !== undefined,
    info: () => info!,
    onTakeOver: (listener) => takeOvers.add(listener)
  }
}
