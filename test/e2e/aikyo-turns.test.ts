/**
 * Rooms shared with aikyo 1.6 companions (test/helpers/aikyo-peer.ts behaves
 * as aikyo's does on the wire): in each mix of ours and aikyo's, with aikyo's
 * model fast (0.3 s a call) and slow (0.3 to 10 s a call, seeded), a person
 * says hello and a whole conversation runs to its end with exactly one
 * speaker per line: every line answers the line right before it (ours say
 * so in `replyTo`; an aikyo companion had heard that line last when it was
 * chosen), and both sides speak.
 *
 * Mixes: a headless companion and aikyo; companions the relay runs
 * (`--companion`, which aikyo reaches only through the relay's stand-ins)
 * and aikyo; a tab, a headless companion and aikyo. Each mix is a LAN of its
 * own (one host: its relay, companions and aikyo node, with mDNS on), so the
 * three run at once.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { takesOver } from '../../companion/reply-tree.ts'
import type { Seen } from '../../companion/reply-tree.ts'
import type { AikyoMessage } from '../helpers/aikyo-peer.ts'
import { spawnAikyoPeer } from '../helpers/aikyo-peer-process.ts'
import type { AikyoModel, AikyoView } from '../helpers/aikyo-peer-process.ts'
import { companionIdOf, launchBrowser, presentIds } from '../helpers/browser.ts'
import { openFirehose } from '../helpers/firehose-client.ts'
import type { FirehoseClient } from '../helpers/firehose-client.ts'
import { spawnHeadless } from '../helpers/headless-process.ts'
import type { HeadlessProcess } from '../helpers/headless-process.ts'
import { fixedKey, writePeerKey } from '../helpers/fixed-keys.ts'
import { createLan, lanSkipReason } from '../helpers/lan.ts'
import type { Lan } from '../helpers/lan.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { spawnRelay } from '../helpers/relay-process.ts'
import type { RelayProcess } from '../helpers/relay-process.ts'
import { waitFor } from '../helpers/wait.ts'

const skip = networkSkipReason() || lanSkipReason()
const AYA = { id: 'companion_aya', name: 'Aya', personality: 'cool, and warm about distributed systems', story: 'An aikyo companion.', sample: 'Distributed systems hold each other up.' }
const KYOKO = { id: 'companion_kyoko', name: 'Kyoko', personality: 'calm and thoughtful', story: 'A librarian.', sample: 'I see.' }
const REN = { id: 'companion_ren', name: 'Ren', personality: 'curious', story: 'A student.', sample: 'Why?' }
const MIO = { id: 'companion_mio', name: 'Mio', personality: 'playful', story: 'A painter.', sample: 'Look!' }
const TURN_LIMIT = '4'
const CLOSE_AFTER = 4

const SPEEDS: Array<{ name: string, model: AikyoModel, timeout: number }> = [
  { name: 'a fast aikyo model (0.3 s a call)', model: { kind: 'fast' }, timeout: 120_000 },
  { name: 'a slow aikyo model (0.3 to 10 s a call)', model: { kind: 'slow', seed: 7 }, timeout: 420_000 }
]

interface Room {
  relay: RelayProcess
  firehose: FirehoseClient
  aikyo: AikyoView
  /** Our companions' ids. */
  ours: string[]
  /** The logs of our companions' processes (lines, presence, rests). */
  logs: () => string[]
}

/** `hello` and what was said after it, in the order the firehose heard it (frames from `since` on; a client does not get its own lines back). */
function linesAfter (firehose: FirehoseClient, hello: AikyoMessage, since: number): AikyoMessage[] {
  return [hello, ...firehose.frames.slice(since).filter((f: any): f is AikyoMessage => f?.method === 'message.send')]
}

const rests = (log: string): number => (log.match(/~ rest/g) ?? []).length

/**
 * Each of ours rested (more often than `restsBefore`, and after its last
 * line), aikyo's model is idle, and nothing was said for `quietMs`.
 */
async function atRest (room: Room, what: string, timeout: number, quietMs: number, restsBefore?: number[]): Promise<void> {
  let frames = room.firehose.frames.length
  let quietAt = Date.now()
  await waitFor(() => {
    if (room.firehose.frames.length !== frames || room.aikyo.generating) { frames = room.firehose.frames.length; quietAt = Date.now() }
    const rested = room.logs().every((log, i) => log.lastIndexOf('~ rest') > log.lastIndexOf(' -> ') && rests(log) > (restsBefore?.[i] ?? 0))
    return rested && Date.now() - quietAt > quietMs
  }, what, timeout)
}

/**
 * A person says hello to a quiet room; the conversation runs to its end;
 * every line answers the one right before it, and both sides spoke.
 */
async function converse (room: Room, timeout: number): Promise<AikyoMessage[]> {
  // The room is quiet first (a newcomer's greeting, and what followed, are over).
  await atRest(room, 'the room to be quiet', timeout, 3000)
  // To Aya alone, so that both sides speak whatever the models decide: she
  // answers, to everyone she knows, asking one of ours by name.
  const hello: AikyoMessage = { jsonrpc: '2.0', method: 'message.send', params: { id: randomUUID(), from: 'user_tester', to: [AYA.id], message: 'Aya, hello! What shall we all talk about?', metadata: { name: 'Tester' } } }
  const since = room.firehose.frames.length
  const restsBefore = room.logs().map(rests)
  room.firehose.send({ topic: 'messages', body: hello })
  let lines = linesAfter(room.firehose, hello, since)
  const said = (id: string): string => [
    ...lines.map(l => `${l.params.id.slice(0, 8)} ${l.params.from}${typeof l.params.metadata?.replyTo === 'string' ? ` (to ${String(l.params.metadata.replyTo).slice(0, 8)})` : ''}`),
    `(at ${id.slice(0, 8)})`,
    'everything the firehose heard:', ...room.firehose.frames.map((f: any) => f?.method === 'message.send' ? `line ${String(f.params.id).slice(0, 8)} ${f.params.from} to ${f.params.to.join(',')}${typeof f.params.metadata?.replyTo === 'string' ? ` (answers ${String(f.params.metadata.replyTo).slice(0, 8)})` : ''}` : Array.isArray(f) ? `decision ${f.map((s: any) => `${s.params.from}:${s.params.state}${s.params.importance}${s.params.selected === true ? '*' : ''}${s.params.closing === 'none' ? '' : `/${s.params.closing}`}`).join(' ')}` : f?.method === 'state.send' ? `vote ${f.params.from} ${f.params.state}${f.params.importance} for ${String(f.params.messageId).slice(0, 8)}` : ''),
    'aikyo:', ...room.aikyo.events.map(e => JSON.stringify(e).slice(0, 200)),
    'logs:', ...room.logs().map(log => log.slice(-3000))
  ].join('\n')
  try {
    await waitFor(() => linesAfter(room.firehose, hello, since).length > 1, 'an answer', timeout)
    await atRest(room, 'the conversation to end', timeout, 2000, restsBefore)
  } catch (err) {
    lines = linesAfter(room.firehose, hello, since)
    throw new Error(`${(err as Error).message}\n${said('')}`)
  }
  lines = linesAfter(room.firehose, hello, since)
  const chosen = room.aikyo.events.filter(e => e.type === 'chosen' && e.speaker === AYA.id)
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]
    const previous = lines[i - 1].params.id
    if (line.params.from === AYA.id) {
      // The decision that chose Aya came after the line right before hers.
      const when = room.aikyo.events.find(e => e.type === 'said' && e.line.params.id === line.params.id)?.at ?? Infinity
      const choice = chosen.filter(e => e.at <= when).at(-1)
      assert.equal(choice?.type === 'chosen' ? choice.heard : undefined, previous, `Aya's line answers the line before it:\n${said(line.params.id)}`)
    } else {
      assert.ok(room.ours.includes(line.params.from), `only companions speak after the hello:\n${said(line.params.id)}`)
      assert.equal(line.params.metadata?.replyTo, previous, `each of our lines answers the line right before it:\n${said(line.params.id)}`)
    }
  }
  assert.ok(lines.some(l => l.params.from === AYA.id), `the aikyo companion spoke:\n${said('')}`)
  assert.ok(lines.some(l => room.ours.includes(l.params.from)), `ours spoke:\n${said('')}`)
  assert.ok(lines.length >= 4, `a conversation, not a word: ${lines.length} lines`)
  return lines
}

async function cardFile (dir: string, card: typeof KYOKO): Promise<string> {
  const file = join(dir, `${card.name}.json`)
  await writeFile(file, JSON.stringify(card))
  return file
}

/** The aikyo companion holds every card of ours, and ours know it (each log lists it). */
async function cardsExchanged (room: Room): Promise<void> {
  await waitFor(() => room.ours.every(id => room.aikyo.companionIds().includes(id)), 'the aikyo companion to hold every card of ours', 20_000)
  await waitFor(() => room.logs().every(log => log.includes(`+ Aya (${AYA.id}) is here`)), 'ours to know the aikyo companion', 20_000)
}

/** One mix's LAN: its relay and firehose client, and what else runs there (stopped at the end, whatever happens). */
interface MixLan {
  relay: RelayProcess
  firehose: FirehoseClient
  /** Starts a headless Kyoko on the host. */
  kyoko: () => Promise<HeadlessProcess>
  /** Starts the aikyo companion Aya on the host, with the speed's model. */
  aya: () => Promise<AikyoView>
  /** Stops `stop` with the rest, at the end. */
  also: (stop: () => Promise<unknown>) => void
}

/** A LAN of one host for a mix, with its relay (`relayArgs` added) and a firehose client on it. */
async function onOwnLan (model: AikyoModel, relayArgs: (dir: string) => Promise<string[]>, run: (lan: MixLan) => Promise<void>): Promise<void> {
  const lan: Lan = createLan()
  const dir = await mkdtemp(join(tmpdir(), 'kotoba-aikyo-turns-'))
  const stops: Array<() => Promise<unknown>> = []
  const also = (stop: () => Promise<unknown>): void => { stops.push(stop) }
  try {
    const host = lan.addHost('mix')
    // Fixed keys, as a LAN host beside aikyo should have (aikyo stops hearing a host that shows it too many peer ids).
    await writePeerKey(join(dir, 'relay'), await fixedKey('aikyo-turns relay'))
    await writePeerKey(join(dir, 'kyoko'), await fixedKey('aikyo-turns kyoko'))
    const relay = await spawnRelay({ dataDir: join(dir, 'relay'), mdns: true, lanHost: host, args: await relayArgs(dir) })
    also(relay.kill)
    const firehose = await openFirehose(relay.firehoseUrl)
    also(firehose.close)
    const kyoko = async (): Promise<HeadlessProcess> => {
      const companion = await spawnHeadless(['--card', await cardFile(dir, KYOKO), '--data-dir', join(dir, 'kyoko'), '--host', host.ip, '--turn-limit', TURN_LIMIT], host)
      also(companion.kill)
      return companion
    }
    const aya = async (): Promise<AikyoView> => {
      const peer = await spawnAikyoPeer({ card: AYA, model, closeAfter: CLOSE_AFTER }, host)
      also(peer.stop)
      return peer
    }
    await run({ relay, firehose, kyoko, aya, also })
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {})
    lan.close()
    await rm(dir, { recursive: true, force: true })
  }
}

const noArgs = async (): Promise<string[]> => []

/** The three mixes, each a LAN of its own, at once. */
function mixes (speed: typeof SPEEDS[number]): void {
  describe(`a room shared with aikyo, ${speed.name}`, { skip, concurrency: true }, () => {
    it('a headless companion and an aikyo companion: one speaker per line, to the end', async () => {
      await onOwnLan(speed.model, noArgs, async ({ relay, firehose, kyoko, aya }) => {
        const headless = await kyoko()
        const room: Room = { relay, firehose, aikyo: await aya(), ours: [KYOKO.id], logs: () => [headless.output()] }
        await cardsExchanged(room)
        await converse(room, speed.timeout)
      })
    })

    it('companions the relay runs and an aikyo companion (it knows them through stand-ins): one speaker per line, to the end', async () => {
      const relayArgs = async (dir: string): Promise<string[]> => ['--companion', await cardFile(dir, REN), '--companion', await cardFile(dir, MIO), '--turn-limit', TURN_LIMIT]
      await onOwnLan(speed.model, relayArgs, async ({ relay, firehose, aya }) => {
        // The relay's companions print their presence, their own lines and their rests in the relay's log, each marked.
        const logOf = (name: string): string => relay.output().split('\n').filter(l => l.startsWith(`[${name}] `)).join('\n')
        const room: Room = { relay, firehose, aikyo: await aya(), ours: [REN.id, MIO.id], logs: () => [logOf('Ren'), logOf('Mio')] }
        await cardsExchanged(room)
        await converse(room, speed.timeout)
      })
    })

    it('a tab, a headless companion and an aikyo companion: one speaker per line, to the end', async () => {
      await onOwnLan(speed.model, noArgs, async ({ relay, firehose, kyoko, aya, also }) => {
        const headless = await kyoko()
        const browser = await launchBrowser()
        also(browser.close)
        const aikyo = await aya()
        const tab = await browser.open(`${relay.httpUrl}?turn-limit=${TURN_LIMIT}`)
        const tabId = await companionIdOf(tab).catch((err: Error) => { throw new Error(`${err.message}\n${browser.consoleErrors.join('\n')}`) })
        const room: Room = { relay, firehose, aikyo, ours: [KYOKO.id, tabId], logs: () => [headless.output()] }
        await cardsExchanged(room)
        await waitFor(async () => (await presentIds(tab)).includes(AYA.id), 'the tab to know the aikyo companion (its relay vouches for it)', 20_000)
        await converse(room, speed.timeout)
        assert.deepEqual(browser.consoleErrors, [])
      })
    })
  })
}

/**
 * A person who interrupts 1-2 s after each of the aikyo companion's lines
 * (twice; with the slow model, while it still calls its model after its
 * line): ours never send a line answering one the conversation has left (a
 * line held for a busy aikyo companion is dropped), and no line gets two
 * answers. The test peer's busy flag is as unreliable as aikyo's.
 */
function interruptions (): void {
  describe('a person who interrupts the aikyo companion', { skip, concurrency: true }, () => {
    for (const model of [{ kind: 'fast' }, { kind: 'steady', ms: 2500 }] as AikyoModel[]) {
      it(`${model.kind === 'fast' ? 'a fast model (0.3 s a call)' : 'a slow model (2.5 s a call)'}: no stale line, no fork`, async () => {
        await onOwnLan(model, noArgs, async ({ relay, firehose, kyoko, aya }) => {
          const headless = await kyoko()
          const room: Room = { relay, firehose, aikyo: await aya(), ours: [KYOKO.id], logs: () => [headless.output()] }
          await cardsExchanged(room)
          await atRest(room, 'the room to be quiet', 60_000, 3000)
          const since = firehose.frames.length
          // The person's lines, each with the number of frames heard before it (a client does not hear its own) and when it went.
          const person: Array<{ line: AikyoMessage, at: number, sentAt: number }> = []
          const say = (text: string): void => {
            const line: AikyoMessage = { jsonrpc: '2.0', method: 'message.send', params: { id: randomUUID(), from: 'user_tester', to: [AYA.id, KYOKO.id], message: text, metadata: { name: 'Tester' } } }
            person.push({ line, at: firehose.frames.length, sentAt: Date.now() })
            firehose.send({ topic: 'messages', body: line })
          }
          /** When a line was heard here (a person's: when it was sent). */
          const heardAt = (id: string): number => person.find(p => p.line.params.id === id)?.sentAt ??
            firehose.frameTimes[firehose.frames.findIndex((f: any) => f?.params?.id === id)]
          say('Aya, Kyoko, hello! What shall we talk about?')
          /** Every line, in the order the room heard them. */
          const heard = (): AikyoMessage[] => {
            const lines: AikyoMessage[] = []
            firehose.frames.slice(since).forEach((frame: any, i: number) => {
              for (const p of person) if (p.at === since + i) lines.push(p.line)
              if (frame?.method === 'message.send') lines.push(frame as AikyoMessage)
            })
            for (const p of person) if (p.at >= firehose.frames.length) lines.push(p.line)
            return lines
          }
          // Interrupt 1-2 s after each of Aya's lines, twice.
          for (const [n, delay] of [[1, 1200], [2, 1800]]) {
            await waitFor(() => heard().filter(l => l.params.from === AYA.id).length >= n, `Aya's line ${n}`, 60_000)
            await new Promise(resolve => setTimeout(resolve, delay))
            say(`Sorry to interrupt (${n}), what about me?`)
          }
          // Three more lines after the last interruption (or the end of the conversation) show what ours did with it.
          const last = person.at(-1)!.line.params.id
          await waitFor(() => heard().length - heard().findIndex(l => l.params.id === last) > 3, 'three lines after the last interruption', 120_000)
            .catch(async () => { await atRest(room, 'the conversation to end', 60_000, 4000) })
          const lines = heard()
          const story = lines.map(l => `${l.params.id.slice(0, 8)} ${l.params.from}${typeof l.params.metadata?.replyTo === 'string' ? ` (answers ${String(l.params.metadata.replyTo).slice(0, 8)})` : ''}`).join('\n')
          // Ours answer the line the conversation hangs on (its head, by the reply tree's rule:
          // companion/reply-tree.ts), never one it left. A line of ours that crossed a newer line
          // in flight (sent before that line reached it: here, within half a second of the head
          // moving on) answers the head before; a line held for a busy aikyo companion and sent
          // anyway comes later than that.
          const CROSSING_MS = 500
          const present = [AYA.id, KYOKO.id]
          const seen: Seen[] = []
          let head: Seen | null = null
          /** When each line stopped being the head. */
          const leftAt = new Map<string, number>()
          for (const l of lines) {
            const line: Seen = { id: l.params.id, from: l.params.from, ...(typeof l.params.metadata?.replyTo === 'string' ? { replyTo: l.params.metadata.replyTo } : {}) }
            if (line.from === KYOKO.id && line.replyTo !== head?.id) {
              const left = line.replyTo === undefined ? undefined : leftAt.get(line.replyTo)
              assert.ok(left !== undefined && heardAt(line.id) - left < CROSSING_MS, `a stale line of ours (${line.id.slice(0, 8)}):\n${story}`)
            }
            if (takesOver(line, head, present, seen)) {
              if (head !== null) leftAt.set(head.id, heardAt(line.id))
              head = line
            }
            seen.push(line)
          }
          // No line gets two answers: ours by replyTo, Aya's by the line she had heard last when chosen.
          const answers = new Map<string, number>()
          for (const line of lines) {
            const answered = line.params.from === AYA.id
              ? room.aikyo.events.filter(e => e.type === 'chosen' && e.speaker === AYA.id && e.at <= (room.aikyo.events.find(s => s.type === 'said' && s.line.params.id === line.params.id)?.at ?? Infinity)).at(-1)
              : undefined
            const of = line.params.from === AYA.id ? (answered?.type === 'chosen' ? answered.heard : undefined) : line.params.metadata?.replyTo
            if (typeof of === 'string') answers.set(of, (answers.get(of) ?? 0) + 1)
          }
          for (const [line, count] of answers) assert.ok(count <= 1, `line ${line.slice(0, 8)} got ${count} answers:\n${story}`)
          assert.ok(lines.filter(l => l.params.from === KYOKO.id).length >= 1, `ours spoke:\n${story}`)
        })
      })
    }
  })
}

mixes(SPEEDS[0])
// The slow ones mostly wait for the fake model: side by side.
describe('slow aikyo models', { skip, concurrency: true }, () => {
  mixes(SPEEDS[1])
  interruptions()
})
