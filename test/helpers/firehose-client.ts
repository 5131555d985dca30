/**
 * A real WebSocket client of `/firehose` that keeps every frame it receives,
 * so a test can wait for the one it expects.
 */
import { once } from 'node:events'
import WebSocket from 'ws'
import { waitFor } from './wait.ts'

export interface FirehoseClient {
  ws: WebSocket
  frames: unknown[]
  /** When each of `frames` arrived (ms since the epoch). */
  frameTimes: number[]
  /** When the last frame arrived (ms since the epoch; the time of opening before any). */
  lastFrameAt: () => number
  send: (frame: unknown) => void
  sendRaw: (data: string | Buffer, binary?: boolean) => void
  /** Resolves with the first received frame (past or future) matching `match`. */
  next: (match: (frame: any) => boolean, what: string, timeout?: number) => Promise<any>
  closed: Promise<{ code: number, reason: string }>
  close: () => Promise<void>
}

/** `ca`: the certificate a wss:// relay is trusted by (its own, for one that made it). */
export async function openFirehose (url: string, options: { ca?: string } = {}): Promise<FirehoseClient> {
  const ws = new WebSocket(url, options.ca === undefined ? {} : { ca: options.ca })
  const frames: unknown[] = []
  const frameTimes: number[] = []
  let lastFrameAt = Date.now()
  ws.on('message', (data) => {
    frames.push(JSON.parse(data.toString()))
    lastFrameAt = Date.now()
    frameTimes.push(lastFrameAt)
  })
  const closed = new Promise<{ code: number, reason: string }>(resolve => {
    ws.once('close', (code, reason) => { resolve({ code, reason: reason.toString() }) })
  })
  await once(ws, 'open')
  return {
    ws,
    frames,
    frameTimes,
    lastFrameAt: () => lastFrameAt,
    send: (frame) => { ws.send(JSON.stringify(frame)) },
    sendRaw: (data, binary = false) => { ws.send(data, { binary }) },
    next: async (match, what, timeout) => await waitFor(() => frames.find(match), what, timeout),
    closed,
    close: async () => {
      if (ws.readyState === ws.CLOSED) return
      ws.close()
      await closed
    }
  }
}

/** Waits until the client has heard nothing for `quietMs` (a room's greetings and what followed are over). */
export async function quietFor (client: FirehoseClient, quietMs: number, timeout = 60_000): Promise<void> {
  let frames = -1
  let quietAt = Date.now()
  await waitFor(() => {
    if (client.frames.length !== frames) { frames = client.frames.length; quietAt = Date.now() }
    return Date.now() - quietAt > quietMs
  }, 'the room to be quiet', timeout)
}
