/**
 * The page's model store without a browser: a shelf in memory and `fetch`
 * answered from bytes. Only a checked file is kept; a kept one is used
 * without a request; each refusal says what is wrong.
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { ModelStoreError, obtainModel } from '../../web/model-store.ts'
import type { ModelSource } from '../../web/model-store.ts'

const realFetch = globalThis.fetch
const bytes = Buffer.concat([Buffer.from('GGUF'), Buffer.alloc(5000, 1)])
const sha256 = createHash('sha256').update(bytes).digest('hex')
const listed: ModelSource = { name: 'm.gguf', url: 'http://relay.test/models/m.gguf', sha256, size: bytes.length }

/** Every request answered with `body` (and counted). */
function serve (body: Uint8Array, status = 200): { requests: string[] } {
  const requests: string[] = []
  globalThis.fetch = (async (url: string) => {
    requests.push(url)
    return new Response(status === 200 ? new Blob([body as BlobPart]) : 'no', { status, headers: { 'content-length': String(body.length) } })
  }) as typeof fetch
  return { requests }
}

function memoryShelf (failPut = false): { shelf: Parameters<typeof obtainModel>[2], keys: () => string[] } {
  const copies = new Map<string, { blob: Blob, sha256: string }>()
  return {
    shelf: {
      get: async (key) => copies.get(key),
      put: async (key, copy) => {
        if (failPut) throw Object.assign(new Error('quota exceeded'), { name: 'QuotaExceededError' })
        copies.set(key, copy)
      }
    },
    keys: () => [...copies.keys()]
  }
}

describe('the model store', () => {
  afterEach(() => { globalThis.fetch = realFetch })

  it('downloads with progress, checks, keeps by sha256, and then uses the kept copy without a request', async () => {
    const { requests } = serve(bytes)
    const { shelf, keys } = memoryShelf()
    const progress: string[] = []
    const first = await obtainModel(listed, { onProgress: p => { progress.push(`${p.phase} ${p.loaded}/${p.total}`) } }, shelf)
    assert.equal(first.downloaded, true)
    assert.equal(first.sha256, sha256)
    assert.deepEqual(Buffer.from(await first.blob.arrayBuffer()), bytes)
    assert.deepEqual(keys(), [sha256])
    assert.equal(progress[0], `downloading 0/${bytes.length}`)
    assert.ok(progress.includes(`downloading ${bytes.length}/${bytes.length}`))
    const second = await obtainModel(listed, {}, shelf)
    assert.equal(second.downloaded, false)
    assert.equal(requests.length, 1)
  })

  it('keeps a file named by URL under its URL, with the sha256 it computed', async () => {
    serve(bytes)
    const { shelf, keys } = memoryShelf()
    const progress: string[] = []
    const got = await obtainModel({ name: 'x.gguf', url: 'http://elsewhere.test/x.gguf' }, { onProgress: p => { progress.push(`${p.phase} ${p.loaded}/${p.total}`) } }, shelf)
    assert.equal(got.sha256, sha256)
    // The size is unknown until the answer's headers tell it, before any of the file.
    assert.deepEqual(progress.slice(0, 2), ['downloading 0/null', `downloading 0/${bytes.length}`])
    assert.deepEqual(keys(), ['url:http://elsewhere.test/x.gguf'])
  })

  it('refuses, and keeps nothing of, a file that is not what was listed', async () => {
    const { shelf, keys } = memoryShelf()
    const refuses = async (source: ModelSource, body: Uint8Array, pattern: RegExp, status = 200): Promise<void> => {
      serve(body, status)
      await assert.rejects(obtainModel(source, {}, shelf), (err: Error) => err instanceof ModelStoreError && pattern.test(err.message))
    }
    const changed = Buffer.from(bytes)
    changed[100] = 9
    await refuses(listed, changed, /^m\.gguf does not match its sha256 \(expected [0-9a-f]{12}…, got [0-9a-f]{12}…\)/)
    await refuses(listed, Buffer.concat([bytes, Buffer.alloc(10)]), /^m\.gguf is larger than announced/)
    await refuses(listed, bytes.subarray(0, 100), /^the download of m\.gguf stopped at 0\.0 MB of 0\.0 MB/)
    await refuses({ name: 'page.html', url: 'http://relay.test/page.html' }, Buffer.from('<!doctype html>'), /^page\.html is not a GGUF model file/)
    await refuses(listed, bytes, /^m\.gguf is not there: \S+ answered HTTP 404/, 404)
    assert.deepEqual(keys(), [])
  })

  it('a browser that will not keep the file still gets it, and says why it is not kept', async () => {
    serve(bytes)
    const got = await obtainModel(listed, {}, memoryShelf(true).shelf)
    assert.equal(got.downloaded, true)
    assert.match(got.keepProblem, /QuotaExceededError: quota exceeded/)
  })

  it('a cancelled download says so', async () => {
    // A server that never answers, and a fetch that stops when its signal aborts.
    globalThis.fetch = (async (_url: string, init: RequestInit) => await new Promise((_resolve, reject) => {
      const stop = (): void => { reject(new DOMException('aborted', 'AbortError')) }
      if (init.signal!.aborted) stop()
      init.signal!.addEventListener('abort', stop)
    })) as typeof fetch
    const cancel = new AbortController()
    const pending = obtainModel(listed, { signal: cancel.signal }, memoryShelf().shelf)
    cancel.abort()
    await assert.rejects(pending, (err: ModelStoreError) => err.cancelled && /^the download of m\.gguf was cancelled$/.test(err.message))
  })
})
