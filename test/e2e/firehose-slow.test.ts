/**
 * Slow and dead firehose clients, against a real (in-process) relay with a
 * set send buffer and heartbeat: one that falls behind is warned and, once it
 * catches up, kept; one that stops reading is dropped (1008, then cut)
 * without holding up the others or growing the relay's memory; one that
 * answers no ping is dropped. Real WebSocket clients; the load comes from a
 * firehose client publishing through the relay.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
import { messageSend } from '../../protocol/build.ts'
import { resolveOptions } from '../../relay/options.ts'
import { startRelay } from '../../relay/relay.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { waitFor } from '../helpers/wait.ts'
import { SILENT } from '../../p2p/logger.ts'

const skip = networkSkipReason()
const MB = 1024 * 1024
const TEXT = 'x'.repeat(30 * 1024)
const cleanups: Array<() => Promise<void>> = []

interface Relay { url: string, clientCount: () => Promise<number>, seq: () => Promise<number>, publish: (n: number) => void }

/** A relay with this send buffer (and heartbeat), and a firehose client to publish load through it. */
async function relayWith (sendBufferBytes: number, heartbeatMs = 30_000): Promise<Relay> {
  const dataDir = await mkdtemp(join(tmpdir(), 'kotoba-slow-'))
  const relay = await startRelay(resolveOptions({
    host: '127.0.0.1', port: 0, mdns: false, dataDir, firehoseBufferBytes: sendBufferBytes, firehoseHeartbeatMs: heartbeatMs, firehoseRate: 1_000_000
  }), { log: SILENT })
  const base = `ws://127.0.0.1:${relay.httpPort}/firehose`
  const writer = new WebSocket(base)
  await once(writer, 'open')
  cleanups.push(async () => { writer.terminate(); await relay.close(); await rm(dataDir, { recursive: true, force: true }) })
  return {
    url: `${base}?v=1`,
    // Firehose clients, the load writer included.
    clientCount: async () => ((await (await fetch(`http://127.0.0.1:${relay.httpPort}/healthz`)).json()) as { firehoseClients: number }).firehoseClients,
    seq: async () => ((await (await fetch(`http://127.0.0.1:${relay.httpPort}/firehose/info`)).json()) as { seq: number }).seq,
    publish: (n) => { writer.send(JSON.stringify({ topic: 'messages', body: messageSend({ from: 'user_load', to: [], message: `${n} ${TEXT}` }) })) }
  }
}

/** A v1 client that records frames, and can stop and restart reading. */
async function client (url: string) {
  const ws = new WebSocket(url)
  const frames: any[] = []
  let closeCode: number | undefined
  ws.on('message', (data) => { frames.push(JSON.parse(data.toString())) })
  ws.on('close', (code) => { closeCode = code })
  await once(ws, 'open')
  await waitFor(() => frames.some(f => f.type === 'welcome'), 'the welcome')
  const socket = (ws as unknown as { _socket: { pause: () => void, resume: () => void } })._socket
  return {
    ws,
    frames,
    events: () => frames.filter(f => f.type === 'event').length,
    closeCode: () => closeCode,
    pause: () => { socket.pause() },
    resume: () => { socket.resume() }
  }
}

describe('slow and dead firehose clients', { skip }, () => {
  after(async () => { for (const c of cleanups) await c() })

  it('v1 clients get JSON heartbeats; a client that answers no ping is dropped, a live one stays', async () => {
    const relay = await relayWith(8 * MB, 200)
    const live = await client(relay.url)
    const dead = await client(relay.url)
    dead.pause() // reads nothing, so answers no ping
    await waitFor(() => live.frames.filter(f => f.type === 'heartbeat').length >= 3, 'three heartbeats', 5000)
    assert.ok(Number.isInteger(live.frames.find(f => f.type === 'heartbeat').seq))
    await waitFor(async () => await relay.clientCount() === 2, 'the dead client to be dropped', 5000)
    assert.equal(live.ws.readyState, WebSocket.OPEN)
    live.ws.close()
  })

  it('one that falls behind is warned at half its buffer, and kept when it catches up', async () => {
    // 32 MB buffer; 30 MB sent while it does not read: past half even if the kernel holds 10 MB.
    const relay = await relayWith(32 * MB)
    const behind = await client(relay.url)
    behind.pause()
    const count = Math.ceil(30 * MB / TEXT.length)
    for (let i = 0; i < count; i++) relay.publish(i)
    // Resume only once the relay has taken all of them (and queued what it could not send).
    await waitFor(async () => await relay.seq() >= count, 'the relay to take every publish', 30_000)
    behind.resume()
    await waitFor(() => behind.events() === count, `all ${count} events`, 30_000)
    const warning = behind.frames.find(f => f.type === 'warning')
    assert.equal(warning?.code, 'slow')
    assert.ok(warning.bufferedBytes > 16 * MB)
    assert.equal(behind.ws.readyState, WebSocket.OPEN, 'still connected')
    behind.ws.close()
  })

  it('one that stops reading is dropped; a reading client gets everything', async () => {
    const relay = await relayWith(256 * 1024)
    const stopped = await client(relay.url)
    const reading = await client(relay.url)
    stopped.pause()
    let sent = 0
    const deadline = Date.now() + 15_000
    while (await relay.clientCount() === 3 && Date.now() < deadline) {
      for (let i = 0; i < 20; i++) relay.publish(sent++)
      await new Promise(resolve => setTimeout(resolve, 5))
    }
    assert.equal(await relay.clientCount(), 2, `the stopped client was dropped (after ${sent} events)`)
    // Its buffer, plus what the kernel's socket buffers took: far from unbounded.
    assert.ok(sent * TEXT.length < 500 * MB, `${(sent * TEXT.length / MB).toFixed(0)} MB were sent before it was dropped`)
    stopped.resume()
    await waitFor(() => stopped.closeCode() !== undefined, 'the stopped client to see its connection end', 10_000)
    assert.ok([1008, 1006].includes(stopped.closeCode()!), `closed with ${stopped.closeCode()}`)
    await waitFor(() => reading.events() === sent, `the reading client to get all ${sent} events`, 20_000)
    reading.ws.close()
  })
})
