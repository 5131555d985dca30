/**
 * A companion without a browser: the page's companion (companion/), on a
 * Node libp2p node. Cards over the metadata protocol (presence), payloads
 * into the Companion runtime, its lines out through the topic bus, and a
 * log line for everything a person running it wants to follow.
 */
import { createBuiltinBrain } from '../companion/builtin-brain.ts'
import type { Companion } from '../companion/companion.ts'
import type { Brain } from '../companion/brain.ts'
import { createLlmBrain, createLocalBrain, shareJudging } from '../companion/llm-brain.ts'
import type { LocalModel } from '../companion/local-model.ts'
import { startOnDataDir } from '../host/data-dir.ts'
import { loadOrCreatePeerKey } from '../host/peer-key.ts'
import { startCompanionPeer } from '../p2p/companion-peer.ts'
import { startRoomPeer } from '../p2p/room-peer.ts'
import type { Message } from '../protocol/payloads.ts'
import { takeRoomHistory } from './room-history.ts'
import { startLanPeers } from '../p2p/lan-peers.ts'
import { consoleLogger } from '../p2p/logger.ts'
import type { Logger } from '../p2p/logger.ts'
import type { RoomChannel } from '../p2p/topic-bus.ts'
import type { CompanionCard } from '../protocol/payloads.ts'
import { createHeadlessNode } from './libp2p-node.ts'
import { loadModelFile } from './model-file.ts'
import type { HeadlessNode } from './libp2p-node.ts'
import type { HeadlessOptions } from './options.ts'

export interface HeadlessCompanion {
  peerId: string
  node: HeadlessNode
  companion: Companion
  /** Its room's side of the topics. */
  bus: RoomChannel
  /** The other companions present now. */
  present: () => CompanionCard[]
  close: () => Promise<void>
}

export interface HeadlessDeps {
  /** Where its lines go (default: the terminal, at `info`). */
  log?: Logger
  /** Log every line of the conversation (default), or only this companion's own. */
  showConversation?: boolean
}

/**
 * Starts a headless companion on its data dir, which it holds until
 * `close()`: a second one on the same dir is refused (`DataDirInUseError`).
 */
export async function startHeadlessCompanion (options: HeadlessOptions, deps: HeadlessDeps = {}): Promise<HeadlessCompanion> {
  return await startOnDataDir(options.dataDir, async () => await runHeadlessCompanion(options, deps))
}

async function runHeadlessCompanion (options: HeadlessOptions, deps: HeadlessDeps): Promise<HeadlessCompanion> {
  const log = deps.log ?? consoleLogger(options.logLevel)
  // A model file that cannot be used is refused before anything joins the network.
  let model: LocalModel | undefined
  if (options.model !== undefined) {
    const loaded = await loadModelFile(options.model)
    model = loaded.model
    log.info(`! brain: ${model.name} (${(loaded.size / 2 ** 20).toFixed(1)} MiB) loaded in ${loaded.loadMs} ms`)
  }
  const privateKey = await loadOrCreatePeerKey(options.dataDir)
  const node = await createHeadlessNode({ privateKey, room: options.room, host: options.host, tcpPort: options.tcpPort, mdns: options.mdns })
  const card = options.card
  // What was said before it came, from the first relay it reaches: its context once it is up.
  const earlier = Promise.withResolvers<Message[]>()
  const stopHistory = takeRoomHistory(node, options.room, options.key, Date.now(), earlier.resolve)

  const joined = startRoomPeer(node, {
    room: options.room,
    ...(options.key === undefined ? {} : { key: options.key }),
    tcp: true,
    onRefused: (refusal) => { log.warn(`refused on ${refusal.topic} from ${refusal.from}: ${refusal.code}: ${refusal.message}`) },
    log
  })
  const bus = joined.channel
  // Companions found by mDNS are linked by the room's directory (at most a few), not by mDNS.
  const lanPeers = startLanPeers(node, { bootstrap: options.bootstrap, log, skipCompanions: true })

  const brain: Brain = model !== undefined
    ? createLocalBrain(model, createBuiltinBrain({ seed: card.id }))
    : options.llm === undefined
      ? createBuiltinBrain({ seed: card.id })
      : options.llmShared === true ? shareJudging(createLlmBrain(options.llm), createBuiltinBrain({ seed: card.id })) : createLlmBrain(options.llm)
  const settings = options.turnLimit === undefined ? {} : { turnLimit: options.turnLimit }
  const peer = await startCompanionPeer(node, joined, { card, brain, settings })
  // Another peer was this companion in the room first (the same card on two hosts): say so, stay quiet.
  peer.onTwin((twin) => {
    log.warn(`! ${card.name} (${twin.id}) is already in room ${joined.room}, on peer ${twin.holder}: this one stays quiet (a companion id belongs to one peer; give this one another card)`)
  })
  const { companion } = peer
  void earlier.promise.then((messages) => {
    companion.remember(messages)
    log.info(`! ${messages.length} earlier lines of room ${joined.room} taken as context`)
  })

  const names = new Map<string, string>([[card.id, card.name]])
  let before = new Set<string>()
  peer.onPresence((present) => {
    const now = new Set<string>()
    for (const c of present.values()) {
      now.add(c.id)
      names.set(c.id, c.name)
      if (!before.has(c.id)) log.info(`+ ${c.name} (${c.id}) is here`)
    }
    for (const id of before) if (!now.has(id)) log.info(`- ${names.get(id) ?? id} left`)
    before = now
  })

  companion.onEvent((event) => {
    if (event.type === 'rest') log.info(`~ rest: ${event.reason}`)
    if (event.type === 'brain-error') log.warn(`! brain: ${event.message}`)
    if (event.type === 'brain-ok') log.info('! brain: answering again')
    // What turn-taking did, for whoever looks into a conversation that went wrong (--log-level debug).
    if (event.type === 'vote') log.debug(`= vote on ${event.messageId.slice(0, 8)}: ${event.vote.state} ${event.vote.importance}${event.vote.selected ? ' (selected)' : ''}`)
    if (event.type === 'decided') log.debug(`= decided ${event.messageId.slice(0, 8)} (${event.by}, from ${event.votes.map(v => `${names.get(v.from) ?? v.from} ${v.state} ${v.importance}`).join(', ')}): ${event.speaker === null ? 'nobody' : names.get(event.speaker) ?? event.speaker} speaks`)
    if (event.type === 'line-discarded') log.debug(`= a line discarded: ${event.reason}`)
  })

  const unsubscribe = bus.onPayload((delivery) => {
    if (delivery.topic !== 'messages') return
    const m = delivery.payload.params
    if (deps.showConversation === false && m.from !== card.id) return
    const speaker = m.metadata?.name ?? names.get(m.from) ?? m.from
    const to = m.to.map(id => names.get(id) ?? id).join(', ')
    log.info(`${speaker}${to === '' ? '' : ` -> ${to}`}: ${m.message}`)
  })

  let closing: Promise<void> | undefined
  return {
    peerId: node.peerId.toString(),
    node,
    companion,
    bus,
    present: () => [...peer.present().values()],
    close: async () => {
      closing ??= (async () => {
        lanPeers.stop()
        stopHistory()
        unsubscribe()
        await peer.stop()
        await joined.stop()
        await node.stop()
        await model?.unload()
      })()
      await closing
    }
  }
}
