/**
 * An aikyo 1.6 companion for interop tests, behaving on the wire as aikyo's
 * own does (its companionServer, handlers and
 * agent, read from aikyo's source; none of its code is copied), with a fake
 * model whose every call takes `modelMs`:
 *
 * - its node: the libp2p v2-line packages aikyo uses (installed under
 *   `aikyo-*` aliases), TCP on 0.0.0.0, mDNS with a dial of every peer
 *   found, Noise, Yamux, identify, GossipSub (`allowPublishToZeroTopicPeers`,
 *   `emitSelf`); subscribed to `messages`, `states` and `queries` (and
 *   `actions`, as its firehose is);
 * - cards: it serves its card only to peers whose card it does not hold,
 *   asks every peer after identify, validates strictly, and forgets a
 *   peer's card when it disconnects;
 * - a line (`messages`, strict envelope) goes into its 5-line history; if
 *   the line is to it and it is not generating, it elects the leader among
 *   the line's `to` whose cards it holds (md5 of the JSON mod their number);
 *   the leader alone judges every addressee (two model calls: the state
 *   judge, then the repetition judge) and publishes
 *   ONE array of states without message ids; it never votes alone;
 * - an array (`states`, strict) is read by aikyo's rule among the companions
 *   whose cards it holds; the chosen one, if it is this one and it is not
 *   generating, writes: two model calls, (a speak query, when asked for,
 *   waiting up to 100 s for its result on `queries`,) the line, then one
 *   more call; a `terminal` choice ends the conversation;
 * - while generating it drops lines and arrays ("Skip generation"), but
 *   the flag is as unreliable as aikyo's: a skipped line or array clears it
 *   (the same `finally` as a run), so the next one may start a run while
 *   another still calls the model.
 */
import { createHash, randomUUID } from 'node:crypto'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import * as v from 'valibot'
import { gossipsub } from 'aikyo-gossipsub'
import { identify } from 'aikyo-identify'
import { createLibp2p } from 'aikyo-libp2p'
import { mdns } from 'aikyo-mdns'
import { noise } from 'aikyo-noise'
import { tcp } from 'aikyo-tcp'
import { yamux } from 'aikyo-yamux'

const METADATA = '/aikyo/metadata/1.0.0'
const TOPICS = ['messages', 'states', 'queries', 'actions'] as const
const CLOSING = ['none', 'pre-closing', 'closing', 'terminal'] as const

const CardSchema = v.strictObject({ id: v.string(), name: v.string(), personality: v.string(), story: v.string(), sample: v.string() })
export type AikyoCard = v.InferOutput<typeof CardSchema>

const MessageSchema = v.strictObject({
  jsonrpc: v.literal('2.0'),
  method: v.literal('message.send'),
  params: v.object({ id: v.string(), from: v.string(), to: v.array(v.string()), message: v.string(), metadata: v.optional(v.record(v.string(), v.any())) })
})
export type AikyoMessage = v.InferOutput<typeof MessageSchema>
const StateSchema = v.strictObject({
  jsonrpc: v.literal('2.0'),
  method: v.literal('state.send'),
  params: v.strictObject({
    from: v.string(),
    state: v.picklist(['speak', 'listen']),
    importance: v.pipe(v.number(), v.minValue(0), v.maxValue(10)),
    selected: v.boolean(),
    closing: v.optional(v.picklist(CLOSING), 'none')
  })
})
export type AikyoState = v.InferOutput<typeof StateSchema>
const StatesSchema = v.array(StateSchema)
const QueryResultSchema = v.strictObject({
  jsonrpc: v.literal('2.0'),
  id: v.string(),
  result: v.optional(v.strictObject({ success: v.boolean(), body: v.record(v.string(), v.any()) })),
  error: v.optional(v.string())
})

export type AikyoStateBody = AikyoState['params']

export interface AikyoPeerOptions {
  card: AikyoCard
  /** How long one call of its model takes (ms), or a function giving each call's; default 300. */
  modelMs?: number | (() => number)
  /** Its model judging one addressee (`id`) from its history; default: see `defaultJudge`. */
  judge?: (id: string, history: readonly AikyoMessage[], peer: AikyoPeer) => AikyoStateBody
  /** Its model writing a line; default: a numbered line to every other companion it knows, asking one of them by name. */
  write?: (history: readonly AikyoMessage[], peer: AikyoPeer) => { message: string, to: string[], emotion: string }
  /** Ask its clients to say each line first (`speak` query, waiting up to 100 s), as aikyo's speak-query tool does. */
  speakQuery?: boolean
  /** After this many lines among companions its fake model begins the closing walk (default 6). */
  closeAfter?: number
  /** Its key (a protobuf private key, base64): a peer id known in advance. Default: a new one. */
  privateKey?: string
  /** Be aikyo's firehose instead: a node on the same topics with no companion (no card served or asked, no turns). */
  firehose?: boolean
}

/** What it did, in order, for tests to check. */
export type AikyoEvent =
  | { type: 'dropped-line', id: string, at: number }
  | { type: 'dropped-states', at: number }
  | { type: 'refused', topic: string, at: number }
  | { type: 'decided', line: string, states: AikyoState[], at: number }
  /** It read a decision; `heard` is the last line it had heard then. */
  | { type: 'chosen', speaker: string | null, heard: string | undefined, at: number }
  | { type: 'said', line: AikyoMessage, at: number }
  | { type: 'query-result', id: string, at: number }
  /** A line reached it (whoever it was to). */
  | { type: 'heard', id: string, at: number }

export interface AikyoPeer {
  peerId: string
  card: AikyoCard
  /** Cards by peer id, as aikyo's companion list holds them (its own under its companion id). */
  companions: Map<string, AikyoCard>
  /** Every payload received, parsed, by topic (whatever its schema said). */
  received: Record<typeof TOPICS[number], unknown[]>
  events: AikyoEvent[]
  /** Its model is at work (it drops what comes). */
  readonly generating: boolean
  publish: (topic: string, payload: unknown) => Promise<void>
  stop: () => Promise<void>
}

/**
 * The fake model's judgement: an addressee speaks (importance from a hash of
 * its id and the line, 1 to 10) unless the line's writer is itself; it is
 * `selected` when the line is to it alone; the closing walk (begun after
 * `closeAfter` lines without a person) goes on with each judgement.
 */
export function defaultJudge (id: string, history: readonly AikyoMessage[], walk: { lines: number, stage: number }): AikyoStateBody {
  const last = history.at(-1)
  const hash = createHash('md5').update(`${id} ${last?.params.id ?? ''}`).digest()[0]
  const speak = last?.params.from !== id
  const closing = CLOSING[walk.stage]
  return { from: id, state: speak ? 'speak' : 'listen', importance: speak ? 1 + (hash % 10) : 0, selected: last?.params.to.length === 1 && last.params.to[0] === id, closing }
}

export async function startAikyoPeer (options: AikyoPeerOptions | AikyoCard): Promise<AikyoPeer> {
  const opts: AikyoPeerOptions = 'card' in options ? options : { card: options }
  const card = opts.card
  const node = await createLibp2p({
    // The same @libp2p/crypto at run time; its types differ from the v2 line's only by the `uint8arraylist` they were built with.
    ...(opts.privateKey === undefined ? {} : { privateKey: privateKeyFromProtobuf(Buffer.from(opts.privateKey, 'base64')) as unknown as never }),
    addresses: { listen: ['/ip4/0.0.0.0/tcp/0'] },
    transports: [tcp()],
    peerDiscovery: [mdns()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: true }),
      identify: identify()
    }
  })
  const companions = new Map<string, AikyoCard>([[card.id, card]])
  const received = Object.fromEntries(TOPICS.map(t => [t, []])) as unknown as AikyoPeer['received']
  const events: AikyoEvent[] = []
  const encoder = new TextEncoder()
  const decoder = new TextDecoder()
  const history: AikyoMessage[] = []
  const pending = new Map<string, (ok: boolean) => void>()
  const lifetime = new AbortController()
  let generating = false
  let said = 0
  // The fake model's closing walk: lines since a person spoke, and how far it went.
  const walk = { lines: 0, stage: 0 }

  const modelCall = async (): Promise<void> => {
    const ms = typeof opts.modelMs === 'function' ? opts.modelMs() : opts.modelMs ?? 300
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms)
      lifetime.signal.addEventListener('abort', () => { clearTimeout(timer); resolve() }, { once: true })
    })
  }
  const publish = async (topic: string, payload: unknown): Promise<void> => {
    await node.services.pubsub.publish(topic, encoder.encode(JSON.stringify(payload)))
  }
  const active = (): string[] => [...companions.values()].map(c => c.id)

  node.addEventListener('peer:discovery', (event) => {
    node.dial(event.detail.multiaddrs).catch(() => { /* aikyo logs and moves on */ })
  })

  if (opts.firehose !== true) await node.handle(METADATA, async ({ stream, connection }) => {
    if (companions.has(connection.remotePeer.toString())) {
      await stream.close()
      return
    }
    await stream.sink([encoder.encode(JSON.stringify(card))])
    await stream.close()
  })

  node.addEventListener('peer:identify', (event) => {
    if (opts.firehose === true) return
    const peer = event.detail.peerId
    const id = peer.toString()
    if (companions.has(id)) return
    void (async () => {
      const stream = await node.dialProtocol(peer, METADATA)
      const chunks: Uint8Array[] = []
      for await (const chunk of stream.source) chunks.push(chunk.subarray())
      if (chunks.length > 0) {
        const parsed = v.safeParse(CardSchema, JSON.parse(decoder.decode(chunks[0])))
        if (parsed.success) companions.set(id, parsed.output)
      }
      await stream.close()
    })().catch(() => { /* not a companion (a relay): aikyo ignores UnsupportedProtocolError */ })
  })
  node.addEventListener('peer:disconnect', (event) => { companions.delete(event.detail.toString()) })

  const self: AikyoPeer = {
    peerId: node.peerId.toString(),
    card,
    companions,
    received,
    events,
    get generating () { return generating },
    publish,
    stop: async () => {
      lifetime.abort()
      await node.stop()
    }
  }

  const judge = (id: string): AikyoStateBody => opts.judge?.(id, history, self) ?? defaultJudge(id, history, walk)
  const write = (): { message: string, to: string[], emotion: string } => {
    if (opts.write !== undefined) return opts.write(history, self)
    const last = history.at(-1)
    const others = active().filter(id => id !== card.id)
    const person = last !== undefined && !last.params.from.startsWith('companion_') ? [last.params.from] : []
    // It asks one of the others by name, in turn, as a model that keeps a conversation going does.
    const asked = [...companions.values()].filter(c => c.id !== card.id)[said % Math.max(1, others.length)]
    said++
    const question = asked === undefined ? '' : ` ${asked.name}, what do you think?`
    return { message: `${card.name} here, on line ${said}.${question}`, to: [...new Set([...others, ...person])], emotion: 'neutral' }
  }

  /**
   * A line to it: the leader judges everyone addressed and publishes the
   * states (companionServer.onMessage). Its busy flag is as unreliable as
   * aikyo's: a line it skips still clears the flag (in the same `finally`),
   * so the next line may start a run while one is still calling the model.
   */
  const onMessage = async (message: AikyoMessage): Promise<void> => {
    try {
      if (generating) {
        events.push({ type: 'dropped-line', id: message.params.id, at: Date.now() })
        return
      }
      const valid = message.params.to.filter(to => active().includes(to))
      if (valid.length === 0) return
      const hash = BigInt(`0x${createHash('md5').update(JSON.stringify(message)).digest('hex')}`)
      if (valid[Number(hash % BigInt(valid.length))] !== card.id) return
      generating = true
      if (walk.lines >= (opts.closeAfter ?? 6)) walk.stage = Math.min(walk.stage + 1, 3)
      const states: AikyoState[] = message.params.to.map(to => ({ jsonrpc: '2.0', method: 'state.send', params: judge(to) }))
      await modelCall() // the state judge
      await modelCall() // the repetition judge
      if (lifetime.signal.aborted) return
      events.push({ type: 'decided', line: message.params.id, states, at: Date.now() })
      // Not awaited, as aikyo's server does not: it is no longer generating when its own array comes back (emitSelf).
      void publish('states', states).catch(() => {})
    } finally {
      generating = false
    }
  }

  /** An array of states: aikyo's pick among the companions it knows; the chosen one writes (agent.generate). Its busy flag, as unreliable. */
  const onStates = async (states: AikyoState[]): Promise<void> => {
    try {
      if (generating) {
        events.push({ type: 'dropped-states', at: Date.now() })
        return
      }
      generating = true
      const valid = states.filter(s => active().includes(s.params.from))
      const best = (list: AikyoState[]): AikyoState | undefined => [...list].sort((a, b) => b.params.importance - a.params.importance)[0]
      const speaker = best(valid.filter(s => s.params.selected)) ?? best(valid.filter(s => s.params.state === 'speak'))
      events.push({ type: 'chosen', speaker: speaker?.params.from ?? null, heard: history.at(-1)?.params.id, at: Date.now() })
      if (speaker === undefined || speaker.params.closing === 'terminal' || speaker.params.from !== card.id) return
      await modelCall() // the tool instructions
      await modelCall() // the agent, calling its speak tool
      if (lifetime.signal.aborted) return
      const { message, to, emotion } = write()
      if (opts.speakQuery === true) {
        const id = randomUUID()
        const answered = new Promise<boolean>((resolve) => {
          pending.set(id, resolve)
          setTimeout(() => { if (pending.delete(id)) resolve(false) }, 100_000).unref()
        })
        await publish('queries', { jsonrpc: '2.0', id, method: 'query.send', params: { from: card.id, type: 'speak', body: { message, emotion } } })
        await answered
      }
      const line: AikyoMessage = { jsonrpc: '2.0', method: 'message.send', params: { id: randomUUID(), from: card.id, to, message, metadata: { emotion } } }
      events.push({ type: 'said', line, at: Date.now() })
      void publish('messages', line).catch(() => {})
      await modelCall() // the agent, after its tool
    } finally {
      generating = false
    }
  }

  const pubsub = node.services.pubsub
  for (const topic of TOPICS) pubsub.subscribe(topic)
  pubsub.addEventListener('message', (event) => {
    const topic = event.detail.topic as typeof TOPICS[number]
    if (!(topic in received)) return
    let json: unknown
    try {
      json = JSON.parse(decoder.decode(event.detail.data))
    } catch { return }
    received[topic].push(json)
    const refused = (): void => { events.push({ type: 'refused', topic, at: Date.now() }) }
    switch (topic) {
      case 'messages': {
        const parsed = v.safeParse(MessageSchema, json)
        if (!parsed.success) return refused()
        events.push({ type: 'heard', id: parsed.output.params.id, at: Date.now() })
        if (opts.firehose === true) break
        history.push(parsed.output)
        if (history.length > 5) history.shift()
        walk.lines = parsed.output.params.from.startsWith('companion_') ? walk.lines + 1 : 0
        if (walk.lines === 0) walk.stage = 0
        if (parsed.output.params.to.includes(card.id)) void onMessage(parsed.output)
        break
      }
      case 'states': {
        const parsed = v.safeParse(StatesSchema, json)
        if (!parsed.success) return refused()
        void onStates(parsed.output)
        break
      }
      case 'queries': {
        const parsed = v.safeParse(QueryResultSchema, json)
        if (!parsed.success) return // a query, not a result: aikyo's server ignores it
        events.push({ type: 'query-result', id: parsed.output.id, at: Date.now() })
        pending.get(parsed.output.id)?.(true)
        pending.delete(parsed.output.id)
        break
      }
      case 'actions':
        break
    }
  })

  return self
}
