/**
 * Just enough of the browser's `Worker` for @wllama/wllama to run in Node:
 * wllama starts its llama.cpp worker from a blob: URL of classic-script
 * code that talks with `postMessage`/`onmessage`. This runs that code in a
 * worker_threads worker with those two names bound to the thread's port.
 * Messages posted before the code is read are queued.
 */
import { resolveObjectURL } from 'node:buffer'
import { Worker as ThreadWorker } from 'node:worker_threads'

const PRELUDE = `
const { parentPort } = require('node:worker_threads');
globalThis.self = globalThis;
globalThis.postMessage = (data, transfer) => parentPort.postMessage(data, transfer);
parentPort.on('message', (data) => { if (typeof globalThis.onmessage === 'function') globalThis.onmessage({ data }); });
`

type Listener = (event: { data: unknown }) => void

export class NodeWebWorker {
  onmessage: Listener | null = null
  onerror: ((error: unknown) => void) | null = null
  private thread: ThreadWorker | undefined
  private queue: Array<[unknown, Transferable[] | undefined]> = []
  private terminated = false

  constructor (url: string | URL) {
    const blob = resolveObjectURL(String(url))
    if (blob === undefined) throw new Error(`NodeWebWorker runs blob: URLs only, not ${String(url)}`)
    void blob.text().then(code => {
      if (this.terminated) return
      const thread = new ThreadWorker(PRELUDE + code, { eval: true })
      thread.on('message', data => this.onmessage?.({ data }))
      thread.on('error', error => this.onerror?.(error))
      this.thread = thread
      for (const [data, transfer] of this.queue) thread.postMessage(data, transfer as never)
      this.queue = []
    }, error => this.onerror?.(error))
  }

  postMessage (data: unknown, transfer?: Transferable[]): void {
    if (this.thread === undefined) this.queue.push([data, transfer])
    else this.thread.postMessage(data, transfer as never)
  }

  terminate (): void {
    this.terminated = true
    void this.thread?.terminate()
  }
}

/** Installs the shim (and `self.location`, which wllama reads) where there is no `Worker`. */
export function installWebWorker (): void {
  const g = globalThis as Record<string, unknown>
  if (g.Worker === undefined) g.Worker = NodeWebWorker
  if (g.self === undefined) g.self = globalThis
  const self = g.self as Record<string, unknown>
  if (self.location === undefined) self.location = new URL('file:///')
}
