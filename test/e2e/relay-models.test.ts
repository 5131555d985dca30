/**
 * The relay's model files (`--models DIR`), in-process on loopback: GGUF
 * files listed at `/api/models` with size and sha256, served at
 * `/models/NAME` with range requests and the sha256 as ETag; files that are
 * not GGUF, or badly named, left out; the hashes kept across restarts; the
 * page served cross-origin isolated.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { request } from 'node:http'
import type { IncomingHttpHeaders } from 'node:http'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseModelList } from '../../protocol/relay-api.ts'
import { resolveOptions } from '../../relay/options.ts'
import { startRelay } from '../../relay/relay.ts'
import type { RelayHandle } from '../../relay/relay.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { waitFor } from '../helpers/wait.ts'
import { SILENT, createLogger } from '../../p2p/logger.ts'

const skip = networkSkipReason()

/** A file that starts as GGUF does (the relay checks no more), of `size` seeded bytes. */
function fakeGguf (size: number, seed: number): Buffer {
  const bytes = Buffer.alloc(size)
  bytes.write('GGUF', 0, 'latin1')
  for (let i = 4; i < size; i++) bytes[i] = (i * 31 + seed * 17) & 0xff
  return bytes
}

describe('the relay serves model files from --models', { skip }, () => {
  let dir: string
  let models: string
  let relay: RelayHandle
  let base: string
  const tiny = fakeGguf(300_000, 1)
  const other = fakeGguf(1000, 2)
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
  const logs: string[] = []

  const start = async (): Promise<void> => {
    relay = await startRelay(resolveOptions({ host: '127.0.0.1', port: 0, mdns: false, dataDir: join(dir, 'relay'), models }), { log: createLogger((line) => { logs.push(line) }, 'debug') })
    base = `http://127.0.0.1:${relay.httpPort}`
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kotoba-models-'))
    models = join(dir, 'models')
    await mkdir(models)
    await writeFile(join(models, 'tiny.gguf'), tiny)
    await writeFile(join(models, 'other-1.gguf'), other)
    await writeFile(join(models, 'notes.txt'), 'not a model')
    await writeFile(join(models, 'fake.gguf'), 'this is not GGUF')
    await writeFile(join(models, 'bad name.gguf'), fakeGguf(10, 3))
    await start()
  })
  after(async () => {
    await relay?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('lists the GGUF files with size, sha256 and url; leaves out the rest, saying why', async () => {
    const list = await waitFor(async () => {
      const parsed = parseModelList(await (await fetch(`${base}/api/models`)).json())
      assert.ok(parsed.ok)
      return parsed.value.models.length === 2 ? parsed.value.models : undefined
    }, 'both models hashed')
    assert.deepEqual(list, [
      { name: 'other-1.gguf', size: other.length, sha256: sha(other), url: '/models/other-1.gguf' },
      { name: 'tiny.gguf', size: tiny.length, sha256: sha(tiny), url: '/models/tiny.gguf' }
    ])
    assert.ok(logs.some(l => /left out fake\.gguf: not a GGUF file/.test(l)), logs.join('\n'))
    assert.ok(logs.some(l => /left out bad name\.gguf: a model file name is/.test(l)), logs.join('\n'))
  })

  it('serves a model whole, with its sha256 as ETag; a second ask with that ETag gets 304', async () => {
    const response = await fetch(`${base}/models/tiny.gguf`)
    assert.equal(response.status, 200)
    assert.equal(response.headers.get('etag'), `"${sha(tiny)}"`)
    assert.equal(response.headers.get('accept-ranges'), 'bytes')
    assert.equal(response.headers.get('content-length'), String(tiny.length))
    assert.ok(Buffer.from(await response.arrayBuffer()).equals(tiny))
    const again = await fetch(`${base}/models/tiny.gguf`, { headers: { 'if-none-match': `"${sha(tiny)}"` } })
    assert.equal(again.status, 304)
    const head = await fetch(`${base}/models/tiny.gguf`, { method: 'HEAD' })
    assert.equal(head.headers.get('content-length'), String(tiny.length))
  })

  it('serves ranges (a download resumed), and refuses ranges outside the file', async () => {
    const part = await fetch(`${base}/models/tiny.gguf`, { headers: { range: 'bytes=1000-1999' } })
    assert.equal(part.status, 206)
    assert.equal(part.headers.get('content-range'), `bytes 1000-1999/${tiny.length}`)
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(tiny.subarray(1000, 2000)))
    const rest = await fetch(`${base}/models/tiny.gguf`, { headers: { range: `bytes=${tiny.length - 10}-` } })
    assert.ok(Buffer.from(await rest.arrayBuffer()).equals(tiny.subarray(tiny.length - 10)))
    const last = await fetch(`${base}/models/tiny.gguf`, { headers: { range: 'bytes=-5' } })
    assert.ok(Buffer.from(await last.arrayBuffer()).equals(tiny.subarray(tiny.length - 5)))
    const outside = await fetch(`${base}/models/tiny.gguf`, { headers: { range: `bytes=${tiny.length}-` } })
    assert.equal(outside.status, 416)
    assert.equal(outside.headers.get('content-range'), `bytes */${tiny.length}`)
    // A range for another version of the file (If-Range with another ETag): the whole file.
    const changed = await fetch(`${base}/models/tiny.gguf`, { headers: { range: 'bytes=0-9', 'if-range': '"0000"' } })
    assert.equal(changed.status, 200)
    await changed.arrayBuffer()
  })

  it('answers 404 with a message for what it does not serve, a path outside the folder included', async () => {
    for (const path of ['/models/nope.gguf', '/models/notes.txt', '/models/fake.gguf', '/models/..%2Frelay%2Fpeer-key', '/models/bad%20name.gguf']) {
      const response = await fetch(`${base}${path}`)
      assert.equal(response.status, 404, path)
      const body = await response.json() as { error: { code: string, message: string } }
      assert.equal(body.error.code, 'no-model')
      assert.match(body.error.message, /see \/api\/models/)
    }
  })

  it('serves the page cross-origin isolated (COOP same-origin, COEP require-corp) to a browser that asks for threads, at a trustworthy origin only', async () => {
    for (const path of ['/', '/api/relay', '/api/models', '/models/tiny.gguf']) {
      const response = await fetch(`${base}${path}`, { headers: { cookie: 'theme=dark; kotoba-threads=1' } })
      await response.arrayBuffer()
      assert.equal(response.headers.get('cross-origin-opener-policy'), 'same-origin', path)
      assert.equal(response.headers.get('cross-origin-embedder-policy'), 'require-corp', path)
    }
    // A browser that runs no model in the tab: not isolated (isolation costs a new tab a process of its own).
    for (const cookie of [undefined, 'kotoba-threads=', 'theme=dark']) {
      const response = await fetch(`${base}/`, cookie === undefined ? {} : { headers: { cookie } })
      await response.arrayBuffer()
      assert.equal(response.headers.get('cross-origin-opener-policy'), null, String(cookie))
      assert.equal(response.headers.get('cross-origin-embedder-policy'), null, String(cookie))
    }
    // Reached at a LAN address over plain http, browsers would ignore COOP (and complain): not sent.
    // (fetch may not set Host: a plain request does.)
    const lan = await new Promise<IncomingHttpHeaders>((resolve, reject) => {
      request({ host: '127.0.0.1', port: relay.httpPort, path: '/', headers: { host: `10.1.2.3:${relay.httpPort}`, cookie: 'kotoba-threads=1' } }, (response) => {
        response.resume()
        resolve(response.headers)
      }).on('error', reject).end()
    })
    assert.equal(lan['cross-origin-opener-policy'], undefined)
    assert.equal(lan['cross-origin-embedder-policy'], undefined)
  })

  it('keeps the hashes in the data dir: a restart lists at once, without reading the files again', async () => {
    const cache = JSON.parse(await readFile(join(dir, 'relay', 'models.json'), 'utf8')) as Record<string, { sha256: string }>
    assert.equal(cache['tiny.gguf'].sha256, sha(tiny))
    await relay.close()
    // A cached hash is trusted only for the same size and mtime: fake one to prove it is not read again.
    cache['tiny.gguf'].sha256 = 'f'.repeat(64)
    await writeFile(join(dir, 'relay', 'models.json'), JSON.stringify(cache))
    await start()
    const list = await waitFor(async () => {
      const parsed = parseModelList(await (await fetch(`${base}/api/models`)).json())
      return parsed.ok && parsed.value.models.length === 2 ? parsed.value.models : undefined
    }, 'the models listed again')
    assert.equal(list.find(m => m.name === 'tiny.gguf')?.sha256, 'f'.repeat(64))
  })
})

describe('a relay without --models', { skip }, () => {
  it('lists no models and serves none', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kotoba-models-none-'))
    const relay = await startRelay(resolveOptions({ host: '127.0.0.1', port: 0, mdns: false, dataDir: dir }), { log: SILENT })
    try {
      assert.deepEqual(await (await fetch(`http://127.0.0.1:${relay.httpPort}/api/models`)).json(), { models: [] })
      assert.equal((await fetch(`http://127.0.0.1:${relay.httpPort}/models/tiny.gguf`)).status, 404)
    } finally {
      await relay.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
