/**
 * Models within reach of a relay.
 *
 * `--fetch-model URL[#sha256=HEX]`: the relay serves at once, downloads the
 * model into `--models DIR` in the background from a local HTTP server that
 * cuts the first download halfway, goes on with a Range request, checks the
 * GGUF header and the sha256, and only then lists it. A 404, a file that is
 * not GGUF and a sha256 mismatch each get a log line, and leave nothing.
 *
 * `--ollama-models DIR` (and `--models ollama`): the models of an Ollama
 * store the test builds around the suite's tiny model, listed under
 * Ollama's names and served from its blobs.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { createLogger } from '../../p2p/logger.ts'
import { parseModelList } from '../../protocol/relay-api.ts'
import { parseModelFetch } from '../../relay/model-fetch.ts'
import { parseCommandLine, resolveOptions } from '../../relay/options.ts'
import { startRelay } from '../../relay/relay.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { tinyGguf } from '../helpers/tiny-gguf.ts'
import { waitFor } from '../helpers/wait.ts'

const skip = networkSkipReason()

/** A file that starts as GGUF does (the relay checks no more), of `size` seeded bytes. */
function fakeGguf (size: number): Buffer {
  const bytes = Buffer.alloc(size)
  bytes.write('GGUF', 0, 'latin1')
  for (let i = 4; i < size; i++) bytes[i] = (i * 31 + 7) & 0xff
  return bytes
}

describe('models within reach of a relay: fetched, or the ones Ollama pulled', { skip }, () => {
  const cleanups: Array<() => Promise<void>> = []
  after(async () => { for (const cleanup of cleanups.reverse()) await cleanup() })

  it('serves at once, goes on after a cut, checks, then lists; refusals leave nothing', async () => {
    const model = fakeGguf(400_000)
    const sha256 = createHash('sha256').update(model).digest('hex')
    const ranges: string[] = []
    let releaseRest!: () => void
    const rest = new Promise<void>((resolve) => { releaseRest = resolve })
    const server: Server = createServer((req, res) => {
      if (req.url === '/m/tiny.gguf') {
        const range = req.headers.range
        if (range === undefined) {
          // The whole file announced, half of it sent, then the connection cut.
          res.writeHead(200, { 'content-length': model.length })
          res.write(model.subarray(0, model.length / 2), () => { res.destroy() })
          return
        }
        ranges.push(range)
        const from = Number(/^bytes=(\d+)-$/.exec(range)?.[1])
        void rest.then(() => {
          res.writeHead(206, { 'content-length': model.length - from, 'content-range': `bytes ${from}-${model.length - 1}/${model.length}` })
          res.end(model.subarray(from))
        })
        return
      }
      if (req.url === '/m/text.gguf') {
        res.writeHead(200, { 'content-length': 11 }).end('hello world')
        return
      }
      if (req.url === '/m/other.gguf') {
        res.writeHead(200, { 'content-length': 1000 }).end(fakeGguf(1000))
        return
      }
      res.writeHead(404).end()
    })
    server.listen(0, '127.0.0.1')
    await new Promise(resolve => server.once('listening', resolve))
    cleanups.push(async () => { server.closeAllConnections(); await new Promise(resolve => server.close(resolve)) })
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/m/`

    const dir = await mkdtemp(join(tmpdir(), 'kotoba-fetch-'))
    cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
    const models = join(dir, 'models')
    await mkdir(models)
    const logs: string[] = []
    const relay = await startRelay(resolveOptions({
      host: '127.0.0.1',
      port: 0,
      mdns: false,
      dataDir: join(dir, 'relay'),
      models,
      fetchModels: [
        `${base}tiny.gguf#sha256=${sha256}`,
        `${base}missing.gguf`,
        `${base}text.gguf`,
        `${base}other.gguf#sha256=${'0'.repeat(64)}`
      ].map(parseModelFetch)
    }), { log: createLogger((line) => { logs.push(line) }, 'debug') })
    cleanups.push(async () => { await relay.close() })
    const listed = async (): Promise<string[]> => {
      const answer = parseModelList(await (await fetch(`http://127.0.0.1:${relay.httpPort}/api/models`)).json())
      assert.ok(answer.ok)
      return answer.value.models.map(m => `${m.name} ${m.size} ${m.sha256}`)
    }

    // Cut halfway, it asks for the rest; meanwhile the relay serves, and lists nothing half-written.
    await waitFor(() => ranges.length > 0, 'the download to go on with a Range request', 20_000)
    // It goes on from what reached it before the cut (all of the half sent, or less when the cut came first).
    assert.equal(ranges.length, 1)
    const from = Number(/^bytes=(\d+)-$/.exec(ranges[0])?.[1])
    assert.ok(from > 0 && from <= model.length / 2, `went on from byte ${from}`)
    assert.deepEqual(await listed(), [])
    assert.ok(!(await readdir(models)).includes('tiny.gguf'), 'nothing under the .gguf name before it is whole and checked')
    releaseRest()

    await waitFor(async () => (await listed()).length > 0, 'the model to be listed', 20_000)
    assert.deepEqual(await listed(), [`tiny.gguf ${model.length} ${sha256}`])
    await waitFor(() => logs.some(l => l.includes('other.gguf')) && logs.some(l => l.includes('text.gguf')) && logs.some(l => l.includes('missing.gguf')), 'a line for each refusal')
    const said = logs.join('\n')
    assert.match(said, /could not fetch missing\.gguf from .*: HTTP 404/)
    assert.match(said, /could not fetch text\.gguf from .*: it is not a GGUF model file/)
    assert.match(said, /could not fetch other\.gguf from .*: its sha256 is [0-9a-f]{64}, not 0{64}/)
    assert.match(said, /fetched tiny\.gguf \(0\.4 MiB, sha256 checked\)/)
    assert.deepEqual((await readdir(models)).sort(), ['tiny.gguf'], 'no part files, nothing refused left behind')
  })

  it('lists the models of an Ollama store under its names and serves them from its blobs; what it cannot serve is left out', async () => {
    const tiny = tinyGguf(1).bytes
    const digest = createHash('sha256').update(tiny).digest('hex')
    const dir = await mkdtemp(join(tmpdir(), 'kotoba-ollama-'))
    cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
    const store = join(dir, 'ollama')
    const blob = async (bytes: Buffer | string): Promise<{ digest: string, size: number }> => {
      const hex = createHash('sha256').update(bytes).digest('hex')
      await writeFile(join(store, 'blobs', `sha256-${hex}`), bytes)
      return { digest: `sha256:${hex}`, size: Buffer.byteLength(bytes) }
    }
    const manifest = async (name: string, layers: Array<{ mediaType: string, digest: string, size: number }>): Promise<void> => {
      const path = join(store, 'manifests', 'registry.ollama.ai', name)
      await mkdir(join(path, '..'), { recursive: true })
      await writeFile(path, JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v2+json', config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: 'sha256:' + '1'.repeat(64), size: 2 }, layers }))
    }
    await mkdir(join(store, 'blobs'), { recursive: true })
    const model = await blob(tiny)
    const template = await blob('{{ .Prompt }}')
    await manifest('library/tiny/latest', [{ mediaType: 'application/vnd.ollama.image.model', ...model }, { mediaType: 'application/vnd.ollama.image.template', ...template }])
    await manifest('library/tiny/q4', [{ mediaType: 'application/vnd.ollama.image.model', ...model }])
    await manifest('alice/notes/v1', [{ mediaType: 'application/vnd.ollama.image.model', ...await blob('safetensors, not GGUF') }])
    await manifest('library/gone/latest', [{ mediaType: 'application/vnd.ollama.image.model', digest: 'sha256:' + '2'.repeat(64), size: 10 }])
    await manifest('library/embed/latest', [template].map(t => ({ mediaType: 'application/vnd.ollama.image.template', ...t })))

    // --models ollama finds the store through OLLAMA_MODELS, as Ollama itself does.
    const parsed = parseCommandLine(['--models', 'ollama', '--host', '127.0.0.1', '--port', '0', '--no-mdns', '--data-dir', join(dir, 'relay')], { OLLAMA_MODELS: store })
    assert.ok(!parsed.help)
    assert.equal(parsed.options.ollamaModels, store)
    assert.equal(parsed.options.models, undefined)
    const logs: string[] = []
    const relay = await startRelay(parsed.options, { log: createLogger((line) => { logs.push(line) }, 'debug') })
    cleanups.push(async () => { await relay.close() })
    const base = `http://127.0.0.1:${relay.httpPort}`
    const listed = async (): Promise<Array<{ name: string, size: number, sha256: string, url: string }>> => {
      const answer = parseModelList(await (await fetch(`${base}/api/models`)).json())
      assert.ok(answer.ok)
      return answer.value.models
    }
    await waitFor(async () => (await listed()).length === 2, 'the Ollama models to be listed')
    assert.deepEqual((await listed()).map(m => [m.name, m.size, m.sha256]).sort(), [['tiny-q4.gguf', tiny.length, digest], ['tiny.gguf', tiny.length, digest]])
    const served = Buffer.from(await (await fetch(`${base}/models/tiny.gguf`)).arrayBuffer())
    assert.ok(served.equals(tiny), 'served from the blob as it is')
    const part = await fetch(`${base}/models/tiny-q4.gguf`, { headers: { range: 'bytes=0-3' } })
    assert.equal(part.status, 206)
    assert.equal(Buffer.from(await part.arrayBuffer()).toString('latin1'), 'GGUF')
    const said = logs.join('\n')
    assert.match(said, /left out Ollama's registry\.ollama\.ai\/alice\/notes\/v1: its model is not a GGUF file/)
    assert.match(said, /left out Ollama's registry\.ollama\.ai\/library\/gone\/latest: its model blob is missing/)
    assert.match(said, /left out Ollama's registry\.ollama\.ai\/library\/embed\/latest: it has no model layer/)
    assert.deepEqual(await readdir(join(store, 'blobs')).then(f => f.length), 3, 'nothing copied into the store, or out of it')
  })

  it('refuses a URL it cannot fetch, and --fetch-model without --models', () => {
    assert.throws(() => parseModelFetch('ftp://host/m.gguf'), /only http and https/)
    assert.throws(() => parseModelFetch('http://host/model.bin'), /must end in a model file's name/)
    assert.throws(() => parseModelFetch('http://host/m.gguf#md5=abc'), /sha256=/)
    assert.deepEqual(parseModelFetch(`http://host/a/m.gguf#sha256=${'A'.repeat(64)}`), { url: 'http://host/a/m.gguf', name: 'm.gguf', sha256: 'a'.repeat(64) })
    assert.throws(() => resolveOptions({ fetchModels: [parseModelFetch('http://host/m.gguf')] }), /--fetch-model needs --models DIR/)
    assert.throws(() => parseCommandLine(['--models', 'ollama'], { HOME: '/nonexistent', OLLAMA_MODELS: '/nonexistent/models' }), /no Ollama store here/)
  })
})
