/**
 * The relay on TLS (`--tls`), in-process on loopback: it makes a
 * certificate for the host at first start and keeps it (same fingerprint
 * after a restart), serves the page, `/api/*` and the firehose (wss) on it,
 * sends plain http to https, puts its libp2p WebSocket listener on TLS
 * (`/tls/ws` in `/api/relay`), and takes the operator's own certificate,
 * refusing a bad one with a clear message. Clients here trust exactly the
 * relay's certificate (`ca`), as a person does who checked its fingerprint.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { X509Certificate, createHash, createPublicKey } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { get as httpGet } from 'node:http'
import { Agent as HttpsAgent, get as httpsGet } from 'node:https'
import type { IncomingMessage } from 'node:http'
import { connect as tlsConnect } from 'node:tls'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { WebSocket } from 'ws'
import { SILENT } from '../../p2p/logger.ts'
import { resolveOptions } from '../../relay/options.ts'
import type { RelayOptions } from '../../relay/options.ts'
import { startRelay } from '../../relay/relay.ts'
import { launchBrowser, openPanel } from '../helpers/browser.ts'
import type { Browser } from '../helpers/browser.ts'
import { openFirehose } from '../helpers/firehose-client.ts'
import { createLan, lanSkipReason } from '../helpers/lan.ts'
import { spawnRelay } from '../helpers/relay-process.ts'
import { tinyGguf } from '../helpers/tiny-gguf.ts'
import type { RelayProcess } from '../helpers/relay-process.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { waitFor } from '../helpers/wait.ts'

const skip = networkSkipReason({ browser: true })

async function answer (url: string, ca?: string, headers: Record<string, string> = {}): Promise<{ status: number, headers: IncomingMessage['headers'], body: string }> {
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const request = url.startsWith('https') ? httpsGet(url, { ca, headers }, resolve) : httpGet(url, { headers }, resolve)
    request.on('error', reject)
  })
  let body = ''
  for await (const chunk of response) body += String(chunk)
  return { status: response.statusCode ?? 0, headers: response.headers, body }
}

describe('the relay on TLS', { skip }, () => {
  const start = async (dataDir: string, more: Partial<RelayOptions> = {}) =>
    await startRelay(resolveOptions({ host: '127.0.0.1', port: 0, wsPort: 0, tcpPort: 0, mdns: false, dataDir, tls: true, ...more }), { log: SILENT })

  it('makes and keeps a certificate for the host; the page, /api, the firehose and the WebSocket listener are on TLS; plain http goes to https', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kotoba-tls-'))
    try {
      let relay = await start(dir)
      const cert = await readFile(join(dir, 'tls-cert.pem'), 'utf8')
      assert.equal(relay.tls?.source, 'made')
      assert.equal(relay.tls?.fingerprint, new X509Certificate(cert).fingerprint256)
      assert.match(new X509Certificate(cert).subjectAltName ?? '', /DNS:localhost.*IP Address:127\.0\.0\.1/)
      assert.equal((await stat(join(dir, 'tls-key.pem'))).mode & 0o777, 0o600)
      const base = `https://127.0.0.1:${relay.httpPort}`

      const page = await answer(`${base}/`, cert)
      assert.equal(page.status, 200)
      assert.equal(page.headers['cross-origin-opener-policy'], undefined, 'not isolated unless asked')
      const threaded = await answer(`${base}/`, cert, { cookie: 'kotoba-threads=1' })
      assert.equal(threaded.headers['cross-origin-opener-policy'], 'same-origin', 'an https page is cross-origin isolated at any address, for a browser that asks for threads')
      const plain = await answer(`http://127.0.0.1:${relay.httpPort}/api/relay?room=lobby`)
      assert.equal(plain.status, 308)
      assert.equal(plain.headers.location, `${base}/api/relay?room=lobby`)
      const info = JSON.parse((await answer(`${base}/api/relay`, cert)).body) as { multiaddrs: string[] }
      assert.ok(info.multiaddrs.length > 0 && info.multiaddrs.every(ma => ma.includes('/tls/ws/')), info.multiaddrs.join(' '))

      // The libp2p WebSocket listener answers a TLS handshake with the same certificate.
      const wsPort = Number(/\/tcp\/(\d+)\/tls\/ws/.exec(info.multiaddrs[0])?.[1])
      const socket = tlsConnect({ host: '127.0.0.1', port: wsPort, ca: cert, servername: 'localhost' })
      await once(socket, 'secureConnect')
      assert.equal(socket.getPeerX509Certificate()?.fingerprint256, relay.tls?.fingerprint)
      socket.destroy()

      // The firehose over wss: a frame it cannot read gets an error back.
      const firehose = new WebSocket(`wss://127.0.0.1:${relay.httpPort}/firehose`, { ca: cert })
      await once(firehose, 'open')
      firehose.send('not json')
      const [reply] = await once(firehose, 'message') as [Buffer]
      assert.match(String(reply), /"error"/)
      firehose.close()

      // A client that keeps its connection alive and keeps asking (as a page asks /api/relay)
      // does not hold the relay open: closing ends its connection.
      const agent = new HttpsAgent({ keepAlive: true, ca: cert })
      const ask = async (): Promise<number> => await new Promise((resolve, reject) => {
        httpsGet(`${base}/api/relay`, { agent }, (response) => { response.resume(); response.on('end', () => { resolve(response.statusCode ?? 0) }) }).on('error', reject)
      })
      assert.equal(await ask(), 200)
      let asking = true
      const polling = (async () => { while (asking) await ask().catch(() => { asking = false }) })()
      await Promise.race([relay.close(), new Promise((_resolve, reject) => setTimeout(() => { reject(new Error('the relay did not close within 5 s with a kept-alive client asking')) }, 5000))])
      asking = false
      await polling
      agent.destroy()

      relay = await start(dir)
      assert.equal(relay.tls?.source, 'kept')
      assert.equal(relay.tls?.fingerprint, new X509Certificate(cert).fingerprint256, 'the same certificate after a restart')
      await relay.close()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('tabs of a browser that accepted the certificate come up over wss, find each other and link by WebRTC', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kotoba-tls-tabs-'))
    const relay = await start(dir)
    const browser = await launchBrowser({ acceptCertificates: true })
    try {
      const url = `https://127.0.0.1:${relay.httpPort}/`
      const tabs = [await browser.open(url), await browser.open(url)]
      for (const tab of tabs) {
        await waitFor(async () => ['connected', 'reserved'].includes(await tab.getByTestId('relay-status').getAttribute('data-status') ?? ''), 'the tab to reach the relay over wss', 20_000)
        await waitFor(async () => await tab.getByTestId('present-companion').count() === 1, 'the tabs to see each other', 20_000)
      }
      // Not cross-origin isolated: this browser runs no model in the tab (a secure context all the same).
      assert.equal(await tabs[0].evaluate(() => [crossOriginIsolated, isSecureContext, location.protocol].join(' ')), 'false true https:')
      await waitFor(async () => await tabs[0].locator('[data-testid=peer-row][data-kind=webrtc]').count() > 0, 'a direct WebRTC link between the tabs', 20_000)
      // A browser that only accepted the certificate for the page will not take a service worker under it: it says so, and the page goes on without.
      // (Chromium: "An SSL certificate error occurred when fetching the script.", or "An unknown error…" when the tab closes first.)
      assert.deepEqual(browser.consoleErrors.filter(e => !/^An (SSL certificate|unknown) error occurred when fetching the script\.$/.test(e)), [])
    } finally {
      await browser.close()
      await relay.close()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('takes the operator\'s certificate; a file that is not one, or a key that is not its own, is refused with a clear message', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kotoba-tls-own-'))
    try {
      // Two certificates the relay made, used as an operator's own.
      for (const name of ['a', 'b']) await (await start(join(dir, name))).close()
      const files = (name: string): { tlsCert: string, tlsKey: string } => ({ tlsCert: join(dir, name, 'tls-cert.pem'), tlsKey: join(dir, name, 'tls-key.pem') })
      const relay = await start(join(dir, 'own'), files('a'))
      assert.equal(relay.tls?.source, 'given')
      assert.equal(relay.tls?.fingerprint, new X509Certificate(await readFile(files('a').tlsCert, 'utf8')).fingerprint256)
      await relay.close()
      await assert.rejects(start(join(dir, 'mixed'), { tlsCert: files('a').tlsCert, tlsKey: files('b').tlsKey }), /--tls-key \S+ is not the key of --tls-cert \S+/)
      await writeFile(join(dir, 'notes.pem'), 'not a certificate')
      await assert.rejects(start(join(dir, 'bad'), { tlsCert: join(dir, 'notes.pem'), tlsKey: files('a').tlsKey }), /--tls-cert \S+notes\.pem is not a PEM certificate/)
      await assert.rejects(start(join(dir, 'gone'), { tlsCert: join(dir, 'missing.pem'), tlsKey: files('a').tlsKey }), /--tls-cert \S+missing\.pem cannot be read \(ENOENT\)/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

/**
 * A LAN page on https (a test LAN's address, not loopback), in a browser
 * that trusts the relay's certificate as its owner's does once installed:
 * a secure context, cross-origin isolated (a model in the tab runs on
 * threads); two tabs link by WebRTC; a
 * firehose client with the token publishes over wss and the tabs hear it;
 * and the service worker keeps the page, so a reload while the relay is
 * away opens it with the tab's transcript and says the relay is away.
 */
describe('a LAN page on https', { skip: skip || lanSkipReason() }, () => {
  it('is a secure context whose model runs on threads, links by WebRTC, hears the firehose over wss, and opens offline from its service worker', async () => {
    const lan = createLan()
    const dir = await mkdtemp(join(tmpdir(), 'kotoba-tls-lan-'))
    const token = 'lan-secret-token'
    let relay: RelayProcess | undefined
    let browser: Browser | undefined
    try {
      await mkdir(join(dir, 'models'))
      await writeFile(join(dir, 'models', 'tiny.gguf'), tinyGguf(1).bytes)
      relay = await spawnRelay({ dataDir: join(dir, 'relay'), lanHost: lan.addHost('relay'), args: ['--tls', '--firehose-token', token, '--models', join(dir, 'models')] })
      assert.match(relay.httpUrl, /^https:\/\/10\./)
      const cert = await readFile(join(dir, 'relay', 'tls-cert.pem'), 'utf8')
      const spki = createHash('sha256').update(createPublicKey(cert).export({ type: 'spki', format: 'der' })).digest('base64')
      browser = await launchBrowser({ trustKeys: [spki] })
      const tabs = [await browser.open(`${relay.httpUrl}?companion=aya`), await browser.open(`${relay.httpUrl}?companion=ren`)]
      for (const tab of tabs) await waitFor(async () => await tab.getByTestId('present-companion').count() === 1, 'the tabs to see each other', 30_000)
      assert.equal(await tabs[0].evaluate(() => [crossOriginIsolated, isSecureContext].join(' ')), 'false true')
      await waitFor(async () => await tabs[0].locator('[data-testid=peer-row][data-kind=webrtc]').count() > 0, 'a direct WebRTC link', 30_000)

      // A model in the tab: on one thread at first; the page, reloaded, is cross-origin isolated
      // at a LAN address (this browser now asks for threads), and the model runs on threads
      // (half the cores it is told of).
      await openPanel(tabs[0], 'brain-panel')
      await tabs[0].getByTestId('brain-tab').check()
      await waitFor(async () => await tabs[0].getByTestId('tab-model').count() === 1, 'the model listed')
      await tabs[0].getByTestId('brain-save').click()
      const modelReady = async (): Promise<string> => {
        await waitFor(async () => ['ready', 'failed'].includes(await tabs[0].getByTestId('model-job').getAttribute('data-phase').catch(() => null) ?? ''), 'the model to be ready', 60_000)
        return (await tabs[0].getByTestId('model-message').textContent())!
      }
      assert.match(await modelReady(), /^tiny\.gguf: downloaded \(0\.5 MB\), sha256 checked, loaded in \d+ ms on 1 thread; reload the page to run it on several threads$/)
      await tabs[0].addInitScript(() => { Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { get: () => 4, configurable: true }) })
      await tabs[0].reload()
      assert.equal(await tabs[0].evaluate(() => [crossOriginIsolated, isSecureContext].join(' ')), 'true true')
      await openPanel(tabs[0], 'brain-panel')
      assert.match(await modelReady(), /^tiny\.gguf: found in this browser's storage, loaded in \d+ ms on 2 threads$/)
      await waitFor(async () => await tabs[0].getByTestId('present-companion').count() === 1, 'the reloaded tab back in the room', 30_000)

      const firehose = await openFirehose(`${relay.firehoseUrl}?token=${token}`, { ca: cert })
      firehose.send({ topic: 'messages', body: { jsonrpc: '2.0', method: 'message.send', params: { id: 'tls-hello-1', from: 'user_visitor', to: [], message: 'Hello over wss!' } } })
      for (const tab of tabs) await waitFor(async () => (await tab.locator('body').textContent())?.includes('Hello over wss!'), 'the line to reach the tab', 20_000)
      await firehose.close()

      // Its service worker took the page on (the browser trusts the certificate).
      await waitFor(async () => await tabs[0].evaluate(async () => (await navigator.serviceWorker.getRegistration())?.active?.state === 'activated'), 'the service worker to be active', 20_000)
      await relay.kill()
      relay = undefined
      await tabs[0].reload()
      await waitFor(async () => await tabs[0].getByTestId('relay-status').getAttribute('data-status') === 'offline', 'the page to say the relay is away', 30_000)
        .catch(async (err: Error) => { throw new Error(`${err.message}\nstatus: ${await tabs[0].getByTestId('relay-status').getAttribute('data-status').catch(() => 'none')}\n${(await tabs[0].locator('body').textContent().catch(() => ''))?.slice(0, 600)}\n${browser?.consoleErrors.join('\n')}`) })
      await waitFor(async () => (await tabs[0].locator('body').textContent())?.includes('Hello over wss!'), 'the transcript of this browser', 20_000)
    } finally {
      await browser?.close()
      await relay?.kill()
      lan.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
