/**
 * Which brain the tab's companion thinks with, as the person chose it in the
 * page: the built-in brain, a language model reached through the relay's
 * `/api/llm` proxy (the key stays on the relay) or at an endpoint of their
 * own (base URL, model and key kept in this browser's localStorage; the
 * endpoint must allow the page's origin by CORS), or a model file that runs
 * in the tab (one the relay lists at `/api/models`, or any URL; see
 * tab-brain.ts). One choice per browser: every tab started afterwards uses it.
 */
import * as v from 'valibot'
import type { Brain } from '../companion/brain.ts'
import type { ChatEndpoint } from '../companion/chat-completions.ts'
import type { RelayLlm } from '../protocol/relay-api.ts'
import type { ModelSource } from './model-store.ts'

export const BRAIN_STORAGE_KEY = 'kotoba.brain'

export type BrainChoice =
  | { kind: 'builtin' }
  | { kind: 'llm', via: 'relay' | 'direct', baseUrl: string, model: string, apiKey: string }
  | { kind: 'tab', model: ModelSource }


const ChoiceSchema = v.variant('kind', [
  v.object({ kind: v.literal('builtin') }),
  v.object({
    kind: v.literal('llm'),
    via: v.picklist(['relay', 'direct']),
    baseUrl: v.pipe(v.string(), v.maxLength(2000)),
    model: v.pipe(v.string(), v.maxLength(200)),
    apiKey: v.pipe(v.string(), v.maxLength(500))
  }),
  v.object({
    kind: v.literal('tab'),
    model: v.object({
      name: v.pipe(v.string(), v.maxLength(300)),
      url: v.pipe(v.string(), v.maxLength(2000)),
      sha256: v.optional(v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/))),
      size: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)))
    })
  })
])

export const BUILTIN: BrainChoice = { kind: 'builtin' }

export function loadBrainChoice (storage: Pick<Storage, 'getItem'>): BrainChoice {
  try {
    const parsed = v.safeParse(ChoiceSchema, JSON.parse(storage.getItem(BRAIN_STORAGE_KEY) ?? 'null'))
    return parsed.success ? parsed.output : BUILTIN
  } catch {
    return BUILTIN
  }
}

export function saveBrainChoice (storage: Pick<Storage, 'setItem'>, choice: BrainChoice): void {
  storage.setItem(BRAIN_STORAGE_KEY, JSON.stringify(choice))
}

/**
 * The endpoint a choice means, or why it cannot be used. `origin` resolves
 * the relay's path (the page's own origin).
 */
export function endpointFor (choice: Extract<BrainChoice, { kind: 'llm' }>, relayLlm: RelayLlm | null, origin: string): { ok: true, endpoint: ChatEndpoint } | { ok: false, message: string } {
  if (choice.via === 'relay') {
    if (relayLlm === null) return { ok: false, message: 'this relay has no model endpoint (it was started without --llm-url)' }
    return { ok: true, endpoint: { baseUrl: new URL(relayLlm.path, origin).toString(), model: choice.model.trim() } }
  }
  let url: URL | undefined
  try { url = new URL(choice.baseUrl.trim()) } catch { url = undefined }
  if (url === undefined || !['http:', 'https:'].includes(url.protocol)) return { ok: false, message: 'the base URL must start with http:// or https://, e.g. http://127.0.0.1:11434/v1' }
  if (choice.model.trim() === '') return { ok: false, message: 'name the model, e.g. llama3.2' }
  return { ok: true, endpoint: { baseUrl: url.toString().replace(/\/+$/, ''), model: choice.model.trim(), apiKey: choice.apiKey.trim() } }
}

/**
 * The brains' code is loaded when first needed: neither brain is needed to
 * bring the companion up (born, present, listening), so neither is in the
 * page's first load. `preloadBrain` fetches the chosen one once it is up.
 */
const builtinModule = async (): Promise<typeof import('../companion/builtin-brain.ts')> => await import('../companion/builtin-brain.ts')
const modelClient = async (): Promise<typeof import('../companion/llm-brain.ts')> => await import('../companion/llm-brain.ts')

/** A brain of `kind` whose code loads when it first thinks. */
function lazyBrain (kind: Brain['kind'], load: () => Promise<Brain>): Brain {
  let loaded: Promise<Brain> | undefined
  const brain = async (): Promise<Brain> => await (loaded ??= load())
  return {
    kind,
    judge: async (context, request, signal) => await (await brain()).judge(context, request, signal),
    write: async (context, request, signal) => await (await brain()).write(context, request, signal)
  }
}

/**
 * The brain for a choice; a choice that cannot be used gives the built-in
 * brain and why. A model in the tab is not ready at once (it downloads and
 * loads: tab-brain.ts): until it is, the built-in brain thinks.
 */
export function brainFor (choice: BrainChoice, relayLlm: RelayLlm | null, origin: string, seed: string): { brain: Brain, problem?: string } {
  const builtin = (): Brain => lazyBrain('builtin', async () => (await builtinModule()).createBuiltinBrain({ seed }))
  if (choice.kind === 'builtin' || choice.kind === 'tab') return { brain: builtin() }
  const resolved = endpointFor(choice, relayLlm, origin)
  if (!resolved.ok) return { brain: builtin(), problem: resolved.message }
  const { endpoint } = resolved
  if (choice.via !== 'relay') return { brain: lazyBrain('llm', async () => (await modelClient()).createLlmBrain(endpoint)) }
  // The relay's model is the room's: only a few companions ask it to judge each line.
  return {
    brain: lazyBrain('llm', async () => {
      const [{ createLlmBrain, shareJudging }, { createBuiltinBrain }] = await Promise.all([modelClient(), builtinModule()])
      return shareJudging(createLlmBrain(endpoint), createBuiltinBrain({ seed }))
    })
  }
}

/** Fetches the code of the brain `choice` means ahead of its first thought (a failure shows when it thinks). */
export function preloadBrain (choice: BrainChoice): void {
  void (choice.kind === 'llm' ? modelClient() : builtinModule()).catch(() => {})
}

/** One small request to `endpoint` (the Brain panel's Test): the round trip in ms; throws `BrainError`. */
export async function checkModelEndpoint (endpoint: ChatEndpoint, signal: AbortSignal): Promise<number> {
  return await (await modelClient()).checkEndpoint(endpoint, signal)
}

/** A short description for the page. */
export function describeChoice (choice: BrainChoice, relayLlm: RelayLlm | null): string {
  if (choice.kind === 'builtin') return 'built-in brain'
  if (choice.kind === 'tab') return `model ${choice.model.name}, in this tab`
  if (choice.via === 'relay') return `language model via the relay${relayLlm?.model != null ? ` (${relayLlm.model})` : choice.model !== '' ? ` (${choice.model})` : ''}`
  return `language model ${choice.model} at ${choice.baseUrl}`
}
