/**
 * aikyo comes back after the relay restarts. An aikyo 1.6 node dials a peer
 * only when it is new to its peer store, so after a restart of our relay
 * (same key, same peer id) it never dials again: the relay must, whichever
 * peer id is the smaller (with ours smaller it always did; with ours larger
 * it waited for a dial that never came). The aikyo test peer and an aikyo
 * firehose (the same stack, no companion) on a LAN host beside the relay,
 * all with fixed keys so that both orderings are tested.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnAikyoPeer } from '../helpers/aikyo-peer-process.ts'
import type { AikyoView } from '../helpers/aikyo-peer-process.ts'
import { openFirehose } from '../helpers/firehose-client.ts'
import { fixedKey, writePeerKey } from '../helpers/fixed-keys.ts'
import type { FixedKey } from '../helpers/fixed-keys.ts'
import { createLan, lanSkipReason } from '../helpers/lan.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { spawnRelay } from '../helpers/relay-process.ts'
import type { RelayProcess } from '../helpers/relay-process.ts'
import { waitFor } from '../helpers/wait.ts'

const skip = networkSkipReason() || lanSkipReason()
const AYA = { id: 'companion_aya', name: 'Aya', personality: 'cool', story: 'An aikyo companion.', sample: 'Hi.' }
const HOSE = { id: 'companion_firehose', name: 'Firehose', personality: '', story: '', sample: '' }

/** A relay key whose peer id is smaller (or larger) than every one of `others`: the first of a fixed series that is. */
async function relayKey (order: 'smaller' | 'larger', others: FixedKey[]): Promise<FixedKey> {
  for (let n = 0; ; n++) {
    const key = await fixedKey(`restart relay ${n}`)
    if (others.every(o => order === 'smaller' ? key.peerId < o.peerId : key.peerId > o.peerId)) return key
  }
}

/** Lines sent through the relay's firehose, again and again, until both aikyo nodes heard one; fails after `timeout`. */
async function heardThrough (relay: RelayProcess, nodes: AikyoView[], timeout: number): Promise<number> {
  const started = Date.now()
  const client = await openFirehose(relay.firehoseUrl)
  try {
    const sent = new Set<string>()
    const send = (): void => {
      const id = randomUUID()
      sent.add(id)
      client.send({ topic: 'messages', body: { jsonrpc: '2.0', method: 'message.send', params: { id, from: 'user_tester', to: [AYA.id], message: 'Still there?' } } })
    }
    send()
    const every = setInterval(send, 250)
    try {
      await waitFor(() => nodes.every(n => n.events.some(e => e.type === 'heard' && sent.has(e.id))), 'both aikyo nodes to hear a line through the relay', timeout)
    } finally {
      clearInterval(every)
    }
    return Date.now() - started
  } finally {
    await client.close()
  }
}

describe('aikyo comes back after the relay restarts', { skip, concurrency: true }, () => {
  for (const order of ['smaller', 'larger'] as const) {
    it(`the relay's peer id ${order} than aikyo's: its companion and its firehose are back within 5 s`, async () => {
      const lan = createLan()
      const dir = await mkdtemp(join(tmpdir(), 'kotoba-aikyo-restart-'))
      const stops: Array<() => Promise<unknown>> = []
      try {
        const host = lan.addHost('restart')
        const [ayaKey, hoseKey] = await Promise.all([fixedKey('restart aikyo companion'), fixedKey('restart aikyo firehose')])
        const key = await relayKey(order, [ayaKey, hoseKey])
        const dataDir = join(dir, 'relay')
        await writePeerKey(dataDir, key)
        let relay = await spawnRelay({ dataDir, mdns: true, lanHost: host })
        stops.push(async () => await relay.kill())
        assert.equal(relay.peerId, key.peerId)
        const nodes = await Promise.all([
          spawnAikyoPeer({ card: AYA, model: { kind: 'fast' }, privateKey: ayaKey.base64 }, host),
          spawnAikyoPeer({ card: HOSE, model: { kind: 'fast' }, privateKey: hoseKey.base64, firehose: true }, host)
        ])
        for (const node of nodes) stops.push(node.stop)
        assert.deepEqual(nodes.map(n => n.peerId), [ayaKey.peerId, hoseKey.peerId])
        await heardThrough(relay, nodes, 20_000)

        // The relay restarts with its key: the aikyo nodes knew it, and will not dial it again.
        await relay.kill()
        relay = await spawnRelay({ dataDir, mdns: true, lanHost: host })
        const ms = await heardThrough(relay, nodes, 5000)
        console.log(`# relay id ${order}: both aikyo nodes heard a line ${ms} ms after the relay was up again`)
      } finally {
        for (const stop of stops.reverse()) await stop().catch(() => {})
        lan.close()
        await rm(dir, { recursive: true, force: true })
      }
    })
  }
})
