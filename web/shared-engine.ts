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

/** One tab's side of a shared engine: in line for it, holding it, or asking the tab that does. */
class EngineTab {
  readonly #name: string
  readonly #modelName: string
  readonly #self = crypto.randomUUID()
  readonly #channel: BroadcastChannel
  /** Leaves the line for the lock, or frees the lock this tab holds. */
  readonly #leave = new AbortController()
  #local: LoadedEngine | undefined
  #holder: string | undefined
  info: EngineInfo | undefined
  #closed = false
  readonly #waiting = new Map<string, Waiting>()
  readonly #serving = new Map<string, AbortController>()
  readonly #served = new Set<string>()
  readonly takeOvers = new Listeners<EngineInfo>()
  #opened = false
  /** This tab is loading the engine (it stops on the caller's signal itself, with its own error). */
  loading = false
  #open!: () => void
  #fail!: (error: unknown) => void
  /** Settles once an engine is ready (here or in another tab), or the first load failed. */
  readonly ready: Promise<void>

  constructor (key: string, modelName: string) {
    this.#name = `kotoba-engine:${key}`
    this.#modelName = modelName
    this.#channel = new BroadcastChannel(this.#name)
    this.ready = new Promise<void>((resolve, reject) => { this.#open = () => { this.#opened = true; resolve() }; this.#fail = reject })
    this.#channel.onmessage = (event: MessageEvent<Message>) => { this.#hear(event.data) }
  }

  get here (): boolean { return this.#local !== undefined }

  /** Gets in line for the engine: first in line loads it; the others take over in turn. */
  join (load: () => Promise<LoadedEngine>): void {
    void navigator.locks.request(this.#name, { signal: this.#leave.signal }, async () => { await this.#hold(load) }).catch(() => {})
    this.#post({ type: 'hello', from: this.#self })
  }

  fail (error: unknown): void { this.#fail(error) }

  /** Asks the engine: this tab's, or the holding tab's over the channel (again of the next one, if it closes first). */
  async answer (request: LocalRequest, signal: AbortSignal): Promise<LocalAnswer> {
    if (this.#local !== undefined) return await this.#local.model.answer(request, signal)
    if (this.#closed) throw new BrainError('this tab no longer thinks with the shared engine')
    const id = crypto.randomUUID()
    return await new Promise<LocalAnswer>((resolve, reject) => {
      // The holder keeps its own deadline per answer; this one also covers a takeover.
      const limitMs = LOCAL_ANSWER_TIMEOUT_MS + 10_000
      const either = AbortSignal.any([signal, AbortSignal.timeout(limitMs)])
      const gaveUp = (): void => {
        if (!this.#waiting.delete(id)) return
        this.#post({ type: 'cancel', from: this.#self, id })
        reject(signal.aborted ? signal.reason : new BrainError(`the engine in another tab did not answer within ${Math.round(limitMs / 1000)} s`))
      }
      const settle = (): void => { either.removeEventListener('abort', gaveUp) }
      either.addEventListener('abort', gaveUp, { once: true })
      this.#waiting.set(id, { request, signal: either, resolve: (a) => { settle(); resolve(a) }, reject: (e) => { settle(); reject(e) } })
      if (this.#holder !== undefined) this.#post({ type: 'ask', from: this.#self, id, request })
    })
  }

  /** Stops thinking with the engine: leaves the line, or unloads it and lets the next tab take it over. */
  async unload (): Promise<void> {
    if (this.#closed) return
    this.#rejectWaiting(`the model ${this.#modelName} was unloaded`)
    for (const stop of this.#serving.values()) stop.abort(new Error('unloaded'))
    const engine = this.#local
    this.#local = undefined
    this.#closed = true
    this.#channel.close()
    await engine?.model.unload()
    this.#leave.abort()
  }

  #post (message: Message): void { if (!this.#closed) this.#channel.postMessage(message) }

  #rejectWaiting (message: string): void {
    for (const [id, w] of this.#waiting) { this.#waiting.delete(id); w.reject(new BrainError(message)) }
  }

  /** Holds the lock: loads the engine, says so, answers what waits, and keeps it until this tab lets go (or closes). */
  async #hold (load: () => Promise<LoadedEngine>): Promise<void> {
    if (this.#closed) return
    const takingOver = this.#opened
    try {
      this.loading = true
      this.#local = await load()
    } catch (err) {
      const message = (err as Error).message ?? String(err)
      this.#post({ type: 'failed', from: this.#self, message })
      this.#rejectWaiting(message)
      this.#fail(err)
      return
    } finally {
      this.loading = false
    }
    loadsHere++
    const local = this.#local
    this.#holder = this.#self
    this.info = local.info
    this.#post({ type: 'ready', from: this.#self, info: local.info })
    for (const [id, w] of this.#waiting) {
      this.#waiting.delete(id)
      local.model.answer(w.request, w.signal).then(w.resolve, w.reject)
    }
    if (takingOver) this.takeOvers.tell(local.info)
    this.#open()
    await new Promise<void>(resolve => { this.#leave.signal.addEventListener('abort', () => { resolve() }, { once: true }) })
  }

  #hear (message: Message): void {
    switch (message.type) {
      case 'hello':
        if (this.#local !== undefined) this.#post({ type: 'ready', from: this.#self, info: this.#local.info })
        break
      case 'ready':
        if (this.#local !== undefined || message.from === this.#holder) break
        // A holder, new to us: ask it what is still waiting.
        this.#holder = message.from
        this.info = message.info
        for (const [id, w] of this.#waiting) this.#post({ type: 'ask', from: this.#self, id, request: w.request })
        this.#open()
        break
      case 'failed':
        if (this.#local !== undefined) break
        if (!this.#opened) this.#fail(new Error(message.message))
        this.#rejectWaiting(message.message)
        break
      case 'ask':
        this.#serve(message.from, message.id, message.request)
        break
      case 'cancel':
        this.#serving.get(`${message.from}|${message.id}`)?.abort(new Error('cancelled by the tab that asked'))
        break
      case 'answer': {
        const w = message.to === this.#self ? this.#waiting.get(message.id) : undefined
        if (w === undefined) break
        this.#waiting.delete(message.id)
        if (message.answer !== undefined) w.resolve(message.answer)
        else w.reject(new BrainError(message.error ?? 'the engine of another tab failed'))
        break
      }
    }
  }

  /** Answers another tab's question with this tab's engine (once per question, however often it is asked). */
  #serve (from: string, id: string, request: LocalRequest): void {
    const ask = `${from}|${id}`
    if (this.#local === undefined || this.#serving.has(ask) || this.#served.has(ask)) return
    const stop = new AbortController()
    this.#serving.set(ask, stop)
    this.#local.model.answer(request, stop.signal).then(
      (answer) => { this.#post({ type: 'answer', to: from, id, answer }) },
      (err: unknown) => { this.#post({ type: 'answer', to: from, id, error: (err as Error).message ?? String(err) }) }
    ).finally(() => {
      this.#serving.delete(ask)
      this.#served.add(ask)
      if (this.#served.size > SERVED_LIMIT) this.#served.delete(this.#served.values().next().value as string)
    })
  }
}

/**
 * Joins the engine `key` names (the model file and the build; `modelName`
 * is what a person sees): resolves once it is ready, loaded here by `load`
 * (this tab was first in line) or by another tab.
 * Rejects with the error that made the first load fail, or the abort.
 */
export async function openSharedEngine (key: string, modelName: string, load: () => Promise<LoadedEngine>, signal: AbortSignal): Promise<SharedEngine> {
  const tab = new EngineTab(key, modelName)
  const onAbort = (): void => {
    if (!tab.loading) tab.fail(Object.assign(new Error(`waiting for ${modelName} was cancelled`), { cancelled: true }))
    void tab.unload()
  }
  signal.addEventListener('abort', onAbort, { once: true })
  tab.join(load)
  try {
    await tab.ready
  } catch (err) {
    await tab.unload()
    throw err
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
  return {
    model: { name: modelName, answer: async (request, signal) => await tab.answer(request, signal), unload: async () => { await tab.unload() } },
    here: () => tab.here,
    info: () => tab.info!,
    onTakeOver: (listener) => tab.takeOvers.add(listener)
  }
}
