/**
 * Checks for what a person types on a command line or in a variable, shared
 * by the relay and the headless companion. Each returns the checked value or
 * throws a `TypeError` that names the option and says what it takes.
 */
import { isIP } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import type { ChatEndpoint } from '../companion/chat-completions.ts'
import { LOG_LEVELS, isLogLevel } from '../p2p/logger.ts'
import type { LogLevel } from '../p2p/logger.ts'

/** A log level (`--log-level`); `info` when none is given. */
export function checkLogLevel (level: string | undefined): LogLevel {
  if (level === undefined) return 'info'
  if (!isLogLevel(level)) throw new TypeError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}`)
  return level
}

/** An interface address to listen on (`0.0.0.0` serves the whole LAN). */
export function checkHost (name: string, host: string): string {
  if (isIP(host) === 0) throw new TypeError(`${name} must be an IPv4 or IPv6 address, got ${JSON.stringify(host)}`)
  return host
}

/** A TCP port, 0 meaning any free one. */
export function checkPort (name: string, port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`${name} must be a port number 0-65535, got ${port}`)
  return port
}

/** Whether `text` is an http: or https: URL. */
export function isHttpUrl (text: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(text).protocol)
  } catch {
    return false
  }
}

/** A multiaddr that ends in `/p2p/<id>`: a peer to dial and keep. */
export function checkPeerAddress (address: string): string {
  let parsed
  try {
    parsed = multiaddr(address)
  } catch (err) {
    throw new TypeError(`bootstrap address ${JSON.stringify(address)} is not a multiaddr: ${(err as Error).message}`)
  }
  if (parsed.getComponents().find(c => c.name === 'p2p') == null) {
    throw new TypeError(`bootstrap address ${address} must end in /p2p/<peer id>`)
  }
  return address
}

/** The language-model endpoint a headless companion thinks with (`--llm-url`, `--llm-model`, `--llm-key`), or none. */
export function llmEndpoint (url: string | undefined, model: string | undefined, key: string | undefined, timeoutMs: number | undefined): ChatEndpoint | undefined {
  if (url === undefined) {
    if (model !== undefined || key !== undefined) throw new TypeError('--llm-model and --llm-key need --llm-url')
    return undefined
  }
  if (!isHttpUrl(url)) throw new TypeError(`--llm-url must be an http(s) URL, got ${JSON.stringify(url)}`)
  if (model === undefined || model.trim() === '') throw new TypeError('name the model with --llm-model, e.g. --llm-model llama3.2')
  return { baseUrl: url.replace(/\/+$/, ''), model: model.trim(), ...(key === undefined ? {} : { apiKey: key }), ...(timeoutMs === undefined ? {} : { timeoutMs }) }
}
