/**
 * The relay's TLS certificate (`--tls`): the operator's own (`--tls-cert`,
 * `--tls-key`), or one the relay makes for the host's names and LAN
 * addresses at first start (`@peculiar/x509` over WebCrypto: ECDSA P-256,
 * SHA-256) and keeps in its data dir, so its fingerprint, which the banner
 * prints for a person to check against what the browser shows, stays the
 * same across restarts. A kept certificate that no longer names one of the
 * host's addresses, or is about to expire, is made again, and the log says
 * why.
 */
// @peculiar/x509 needs the Reflect metadata API (its README says so); this module loads only with --tls.
import 'reflect-metadata'
import { X509Certificate, createPrivateKey, randomBytes, webcrypto } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import { join } from 'node:path'
import * as x509 from '@peculiar/x509'
import { writeKeyFile } from '../host/peer-key.ts'
import type { Logger } from '../p2p/logger.ts'

export interface TlsMaterial {
  /** PEM. */
  cert: string
  key: string
  /** SHA-256 of the certificate, as browsers show it (`AB:CD:…`). */
  fingerprint: string
  source: 'given' | 'kept' | 'made'
}

export interface TlsWanted {
  dataDir: string
  /** The operator's own certificate and key (PEM files). */
  certFile?: string
  keyFile?: string
  /** Names and addresses the certificate must cover (the host's name, its LAN addresses, loopback). */
  names: string[]
}

const CERT_FILE = 'tls-cert.pem'
const KEY_FILE = 'tls-key.pem'
/** Browsers refuse certificates valid for longer than 398 days. */
const VALID_DAYS = 397
/** A kept certificate this close to its end is made again. */
const RENEW_BEFORE_MS = 14 * 24 * 3600 * 1000

/** A certificate and key that belong together; throws an Error that says what is wrong. */
function check (cert: string, key: string, where: { cert: string, key: string }): X509Certificate {
  let parsed: X509Certificate
  try {
    parsed = new X509Certificate(cert)
  } catch (err) {
    throw new Error(`${where.cert} is not a PEM certificate (${(err as Error).message})`)
  }
  let privateKey
  try {
    privateKey = createPrivateKey(key)
  } catch (err) {
    throw new Error(`${where.key} is not a PEM private key (${(err as Error).message})`)
  }
  if (!parsed.checkPrivateKey(privateKey)) throw new Error(`${where.key} is not the key of ${where.cert}`)
  return parsed
}

/** Whether a certificate names `name` (a DNS name or an IP address) in its subject alternative names. */
function covers (cert: X509Certificate, name: string): boolean {
  const names = (cert.subjectAltName ?? '').split(/,\s*/)
  return isIP(name) === 0 ? names.includes(`DNS:${name}`) : names.some(n => n.startsWith('IP Address:') && sameIp(n.slice('IP Address:'.length), name))
}

/** An address written one way: IPv6 as eight groups without leading zeros ("::1" and "0:0:0:0:0:0:0:1" alike). */
function canonicalIp (ip: string): string {
  const text = ip.toLowerCase().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1')
  if (isIP(text) !== 6) return text
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined]
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
  return groups.map(g => g.replace(/^0+(?=.)/, '')).join(':')
}

const sameIp = (a: string, b: string): boolean => canonicalIp(a) === canonicalIp(b)

async function make (names: string[]): Promise<{ cert: string, key: string }> {
  x509.cryptoProvider.set(webcrypto as unknown as Crypto)
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']) as CryptoKeyPair
  const now = Date.now()
  const dns = names.filter(n => isIP(n) === 0)
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(16).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=kotoba relay ${dns[0] ?? names[0] ?? 'localhost'}, O=kotoba`,
    notBefore: new Date(now - 24 * 3600 * 1000),
    notAfter: new Date(now + VALID_DAYS * 24 * 3600 * 1000),
    signingAlgorithm: algorithm,
    keys,
    extensions: [
      new x509.SubjectAlternativeNameExtension(names.map(n => ({ type: isIP(n) === 0 ? 'dns' as const : 'ip' as const, value: n }))),
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth])
    ]
  })
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey))
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END PRIVATE KEY-----\n`
  return { cert: certificate.toString('pem'), key }
}

/** The relay's certificate: the operator's, the one kept in the data dir, or a new one (kept). */
export async function relayCertificate (wanted: TlsWanted, log: Logger): Promise<TlsMaterial> {
  if (wanted.certFile !== undefined || wanted.keyFile !== undefined) {
    if (wanted.certFile === undefined || wanted.keyFile === undefined) throw new Error('--tls-cert and --tls-key go together: give both')
    const read = async (file: string, what: string): Promise<string> => {
      try { return await readFile(file, 'utf8') } catch (err) { throw new Error(`${what} ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`) }
    }
    const cert = await read(wanted.certFile, '--tls-cert')
    const key = await read(wanted.keyFile, '--tls-key')
    const parsed = check(cert, key, { cert: `--tls-cert ${wanted.certFile}`, key: `--tls-key ${wanted.keyFile}` })
    if (Date.parse(parsed.validTo) < Date.now()) log.warn(`tls: the certificate in ${wanted.certFile} expired on ${parsed.validTo}: browsers will refuse it`)
    return { cert, key, fingerprint: parsed.fingerprint256, source: 'given' }
  }
  const certPath = join(wanted.dataDir, CERT_FILE)
  const keyPath = join(wanted.dataDir, KEY_FILE)
  let why = 'none kept yet'
  try {
    const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')])
    const parsed = check(cert, key, { cert: certPath, key: keyPath })
    const missing = wanted.names.filter(n => !covers(parsed, n))
    if (Date.parse(parsed.validTo) - Date.now() < RENEW_BEFORE_MS) why = `the kept one ends on ${parsed.validTo}`
    else if (missing.length > 0) why = `the kept one does not name ${missing.join(', ')}`
    else return { cert, key, fingerprint: parsed.fingerprint256, source: 'kept' }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') why = `the kept one cannot be used (${(err as Error).message})`
  }
  const made = await make(wanted.names)
  await writeKeyFile(keyPath, made.key, 0o600)
  await writeKeyFile(certPath, made.cert, 0o644)
  const fingerprint = new X509Certificate(made.cert).fingerprint256
  log.info(`tls: made a certificate for ${wanted.names.join(', ')} (${why}); kept in ${certPath}`)
  return { ...made, fingerprint, source: 'made' }
}
