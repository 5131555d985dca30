/**
 * Slow firehose clients: one that falls behind is warned and, once it
 * catches up, kept; one that stops reading is dropped (1008, then cut)
 * without holding up the others or growing the relay's memory. The firehose
 * on a loopback HTTP server, real WebSocket clients, a set send buffer.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import WebSocket from 'ws'
import { messageSend } from '../../protocol/build.ts'
import { createFirehose } from '../../relay/firehose.ts'
import type { Firehose } from '../../relay/firehose.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { waitFor } from '../helpers/wait.ts'

const skip = networkSkipReason()
const MB = 1024 * 1024
const TEXT = 'x'.repeat(30 * 1024)
const cleanups: Array<() => Promise<void>> = []

async function firehoseWith (sendBufferBytes: number, heartbeatMs?: number): Promise<{ firehose: Firehose, url: string }> {
  const firehose = createFirehose({ publish: async () => {}, limits: { sendBufferBytes, ...(heartbeatMs === undefined ? {} : { heartbeatMs }) } })
  const server = createServer()
  server.on('upgrade', (req, socket, head) => { firehose.handleUpgrade(req, socket, head) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  cleanups.push(async () => { await firehose.close(); server.close() })
  return { firehose, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/firehose?v=1` }
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

const send = (firehose: Firehose, n: number): void => {
  firehose.broadcast({ topic: 'messages', json: JSON.stringify(messageSend({ from: 'user_load', to: [], message: `${n} ${TEXT}` })), peer: 'firehose' })
}

describe('slow and dead firehose clients', { skip }, () => {
  after(async () => { for (const c of cleanups) await c() })

  it('v1 clients get JSON heartbeats; a client that answers no ping is dropped, a live one stays', async () => {
    const { firehose, url } = await firehoseWith(8 * MB, 200)
    const live = await client(url)
    const dead = await client(url)
    dead.pause() // reads nothing, so answers no ping
    await waitFor(() => live.frames.filter(f => f.type === 'heartbeat').length >= 3, 'three heartbeats', 5000)
    assert.ok(Number.isInteger(live.frames.find(f => f.type === 'heartbeat').seq))
    await waitFor(() => firehose.clientCount === 1, 'the dead client to be dropped', 5000)
    assert.equal(live.ws.readyState, WebSocket.OPEN)
    live.ws.close()
  })

  it('one that falls behind is warned at half its buffer, and kept when it catches up', async () => {
    // 32 MB buffer; 30 MB sent while it does not read: past half even if the kernel holds 10 MB.
    const { firehose, url } = await firehoseWith(32 * MB)
    const behind = await client(url)
    behind.pause()
    const count = Math.ceil(30 * MB / TEXT.length)
    for (let i = 0; i < count; i++) send(firehose, i)
    behind.resume()
    await waitFor(() => behind.events() === count, `all ${count} events`, 30_000)
    const warning = behind.frames.find(f => f.type === 'warning')
    assert.equal(warning?.code, 'slow')
    assert.ok(warning.bufferedBytes > 16 * MB)
    assert.equal(behind.ws.readyState, WebSocket.OPEN, 'still connected')
    behind.ws.close()
  })

  it('one that stops reading is dropped; a reading client gets everything', async () => {
    const { firehose, url } = await firehoseWith(256 * 1024)
    const stopped = await client(url)
    const reading = await client(url)
    stopped.pause()
    let sent = 0
    const deadline = Date.now() + 15_000
    while (firehose.clientCount === 2 && Date.now() < deadline) {
      send(firehose, sent++)
      if (sent % 10 === 0) await new Promise(resolve => setTimeout(resolve, 1))
    }
    assert.equal(firehose.clientCount, 1, `the stopped client was dropped (after ${sent} events)`)
    // Its buffer, plus what the kernel's socket buffers took: far from unbounded.
    assert.ok(sent * TEXT.length < 500 * MB, `${(sent * TEXT.length / MB).toFixed(0)} MB were sent before it was dropped`)
    stopped.resume()
    await waitFor(() => stopped.closeCode() !== undefined, 'the stopped client to see its connection end', 10_000)
    assert.ok([1008, 1006].includes(stopped.closeCode()!), `closed with ${stopped.closeCode()}`)
    await waitFor(() => reading.events() === sent, `the reading client to get all ${sent} events`, 20_000)
    reading.ws.close()
  })
})
