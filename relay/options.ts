/**
 * The relay's one options object: its type, its defaults, its checks, and
 * how CLI flags and environment variables map onto it. Only `relay/main.ts`
 * reads argv and env; everything else receives a checked `RelayOptions`.
 */
import { resolve } from 'node:path'
import { HELP_FLAG, LAN_HOST_FLAGS, LLM_TIMEOUT_MS, flagRows, readFlags } from '../host/cli-flags.ts'
import type { Flags } from '../host/cli-flags.ts'
import { checkHost, checkLogLevel, checkPeerAddress, checkPort, isHttpUrl } from '../host/option-checks.ts'
import { TURN_LIMIT_BOUNDS, isTurnLimit } from '../companion/turn-state.ts'
import { isLogLevel } from '../p2p/logger.ts'
import type { LogLevel } from '../p2p/logger.ts'
import { DEFAULT_ROOM, isPrivateRoom, parseRoomName } from '../protocol/rooms.ts'
import type { RoomName } from '../protocol/rooms.ts'
import { KEYED_BUDGET_PER_HOUR, LLM_LIMIT_DEFAULTS } from './llm-guard.ts'
import { parseModelFetch } from './model-fetch.ts'
import type { ModelFetchSpec } from './model-fetch.ts'
import { findOllamaStore } from './ollama-models.ts'

/** A headless companion the relay runs in its process: its card file and its room. */
export interface CompanionSpec {
  file: string
  room: RoomName
}

/**
 * `--companion FILE` (the default room) or `--companion FILE@ROOM`. The part
 * after the last `@` is a room when it holds no `/` and no `.` (a room name
 * never does, a card file's name usually does), so `kyoko@home.json` is a file.
 */
export function parseCompanionSpec (text: string): CompanionSpec {
  const at = text.lastIndexOf('@')
  const suffix = at < 0 ? '' : text.slice(at + 1)
  if (at < 0 || /[/.]/.test(suffix)) return { file: text, room: DEFAULT_ROOM }
  const room = parseRoomName(suffix)
  if (!room.ok) throw new TypeError(`--companion ${text}: ${room.message}`)
  if (at === 0) throw new TypeError(`--companion ${text}: name the card file before the @`)
  // The relay holds no room's key: a companion of a private room runs on its own, with the key.
  if (isPrivateRoom(room.room)) throw new TypeError(`--companion ${text}: room ${room.room} is private, and the relay holds no room's key; run the companion with npm run companion -- --card FILE --room ${room.room} --room-key FILE`)
  return { file: text.slice(0, at), room: room.room }
}

export interface RelayOptions {
  /** Interface to listen on (HTTP, libp2p TCP and WebSocket). `0.0.0.0` serves the whole LAN. */
  host: string
  /** HTTP port: the page, `/api/relay`, `/healthz` and the `/firehose` WebSocket. 0 picks a free port. */
  port: number
  /** libp2p WebSocket port that browsers dial. 0 picks a free port. */
  wsPort: number
  /** libp2p TCP port for LAN peers (other relays, aikyo companions). 0 picks a free port. */
  tcpPort: number
  /** Discover LAN peers by mDNS and dial them. */
  mdns: boolean
  /** Multiaddrs (with `/p2p/<id>`) dialled at start and re-dialled whenever lost. */
  bootstrap: string[]
  /** Where the relay keeps its peer key, so its peer id survives restarts. */
  dataDir: string
  /** The built page to serve (`vite build` output). */
  webRoot: string
  /** Circuit-relay-v2 reservations held at once: one per open tab. */
  maxReservations: number
  /** Open libp2p connections at once. */
  maxConnections: number
  /** Firehose WebSocket clients at once. */
  maxFirehoseClients: number
  /** Publishing on the firehose needs this token, when set. */
  firehoseToken?: string
  /** Nobody may publish on the firehose. */
  firehoseReadOnly: boolean
  /** Browser origins allowed on the firehose; empty: any. */
  firehoseOrigins: string[]
  /** Publishes per second per firehose client (bursts of twice that). */
  firehoseRate: number
  /** Events kept per topic for firehose replay. */
  firehoseReplay: number
  /** Unsent bytes a firehose client may have queued (warned at half, dropped beyond). */
  firehoseBufferBytes: number
  /** Firehose pings and heartbeat frames, this often (ms). */
  firehoseHeartbeatMs: number
  /** OpenAI-compatible endpoint pages may use through `/api/llm` (base URL, without `/chat/completions`). */
  llmUrl?: string
  /** Key the relay adds for `llmUrl`; it never reaches a page. */
  llmKey?: string
  /** Model the relay asks `llmUrl` for, whatever a page names. */
  llmModel?: string
  /** How long the relay waits for `llmUrl` to answer one request (ms). */
  llmTimeoutMs: number
  /** The most tokens one `/api/llm` request may ask for (a larger `max_tokens` is capped). */
  llmMaxTokens: number
  /** `/api/llm` requests a minute per client address (bursts of `LLM_LIMIT_DEFAULTS.burst`). */
  llmRate: number
  /** Model tokens `/api/llm` may spend in any hour; 0: no budget. Unset: `KEYED_BUDGET_PER_HOUR` with a key, none without. */
  llmBudget?: number
  /** Everything browsers reach on TLS: the page, `/api/*`, `/firehose` (wss) and the libp2p WebSocket listener. */
  tls: boolean
  /** The operator's own certificate and key (PEM files); without them `tls` makes one and keeps it in the data dir. */
  tlsCert?: string
  tlsKey?: string
  /** Headless companions to run in the relay's process (`--companion`). */
  companions: CompanionSpec[]
  /** Lines before their conversations must close (`--turn-limit`; default the companions'). */
  turnLimit?: number
  /** A folder of GGUF model files served to pages that think in the tab (`--models`). */
  models?: string
  /** An Ollama store whose models are served from its blobs (`--models ollama`, `--ollama-models DIR`). */
  ollamaModels?: string
  /** Models downloaded into `models` in the background, then served (`--fetch-model URL[#sha256=HEX]`). */
  fetchModels: ModelFetchSpec[]
  /** Rooms the relay carries at once; a peer asking for more is not followed. */
  maxRooms: number
  /** Lines of each room's history kept in the data dir (0: none kept). */
  history: number
  /** The least a log line must matter to be printed. */
  logLevel: LogLevel
}

export const DEFAULT_PORT = 8787

/** The most lines of history a room may keep (`--history`). */
export const MAX_HISTORY = 10_000

/** JSON bytes of history kept per room: room for lines of about 16 KiB each, with their actions and decisions. */
export const historyBytes = (lines: number): number => Math.max(1024 * 1024, lines * 16 * 1024)

/** Defaults for everything but the ports, which follow `port` (see `resolveOptions`). */
export const DEFAULTS: Omit<RelayOptions, 'wsPort' | 'tcpPort'> = {
  host: '0.0.0.0',
  port: DEFAULT_PORT,
  mdns: true,
  bootstrap: [],
  dataDir: '.kotoba',
  webRoot: 'dist',
  maxReservations: 1024,
  maxConnections: 1024,
  maxFirehoseClients: 1024,
  firehoseReadOnly: false,
  firehoseOrigins: [],
  firehoseRate: 20,
  firehoseReplay: 1000,
  firehoseBufferBytes: 8 * 1024 * 1024,
  firehoseHeartbeatMs: 30_000,
  llmTimeoutMs: LLM_TIMEOUT_MS,
  llmMaxTokens: LLM_LIMIT_DEFAULTS.maxTokens,
  llmRate: LLM_LIMIT_DEFAULTS.ratePerMinute,
  tls: false,
  companions: [],
  fetchModels: [],
  maxRooms: 256,
  history: 200,
  logLevel: 'info'
}

/**
 * Spreads `partial` over the defaults and checks the result at once.
 * Unset `wsPort`/`tcpPort` follow `port` (port+1, port+2), or are 0 when
 * `port` is 0. Throws `TypeError` naming the bad option.
 */
export function resolveOptions (partial: Partial<RelayOptions> = {}): RelayOptions {
  const base = { ...DEFAULTS, ...definedOnly(partial) }
  const follow = (offset: number): number => base.port === 0 ? 0 : base.port + offset
  const options: RelayOptions = {
    ...base,
    wsPort: partial.wsPort ?? follow(1),
    tcpPort: partial.tcpPort ?? follow(2),
    dataDir: resolve(base.dataDir),
    companions: base.companions.map(spec => ({ ...spec, file: resolve(spec.file) })),
    webRoot: resolve(base.webRoot),
    ...(base.models === undefined ? {} : { models: resolve(base.models) }),
    ...(base.ollamaModels === undefined ? {} : { ollamaModels: resolve(base.ollamaModels) }),
    ...(base.tlsCert === undefined ? {} : { tlsCert: resolve(base.tlsCert) }),
    ...(base.tlsKey === undefined ? {} : { tlsKey: resolve(base.tlsKey) })
  }

  if (options.turnLimit !== undefined && !isTurnLimit(options.turnLimit)) throw new TypeError(`turnLimit must be ${TURN_LIMIT_BOUNDS.min}-${TURN_LIMIT_BOUNDS.max}, got ${options.turnLimit}`)
  checkHost('host', options.host)
  for (const key of ['port', 'wsPort', 'tcpPort'] as const) checkPort(key, options[key])
  const fixed = [options.port, options.wsPort, options.tcpPort].filter(port => port !== 0)
  if (new Set(fixed).size !== fixed.length) {
    throw new TypeError(`port, wsPort and tcpPort must differ, got ${options.port}, ${options.wsPort}, ${options.tcpPort}`)
  }
  for (const key of ['maxReservations', 'maxConnections', 'maxFirehoseClients', 'llmTimeoutMs', 'llmMaxTokens', 'llmRate', 'firehoseRate', 'firehoseReplay', 'firehoseBufferBytes', 'firehoseHeartbeatMs', 'maxRooms'] as const) {
    if (!Number.isInteger(options[key]) || options[key] < 1) throw new TypeError(`${key} must be a positive integer, got ${options[key]}`)
  }
  if (!Number.isInteger(options.history) || options.history < 0 || options.history > MAX_HISTORY) throw new TypeError(`history must be a whole number from 0 to ${MAX_HISTORY}, got ${options.history}`)
  if (!isLogLevel(options.logLevel)) throw new TypeError(`logLevel must be debug, info, warn or error, got ${JSON.stringify(options.logLevel)}`)
  if (options.firehoseToken !== undefined && options.firehoseToken.length < 8) throw new TypeError('firehoseToken must have at least 8 characters')
  for (const origin of options.firehoseOrigins) {
    let parsed: URL | undefined
    try { parsed = new URL(origin) } catch { parsed = undefined }
    if (parsed === undefined || parsed.origin !== origin) throw new TypeError(`firehose origin ${JSON.stringify(origin)} must be an origin like http://192.168.1.20:8787 (scheme, host, port; no path)`)
  }
  if (options.llmBudget !== undefined && (!Number.isInteger(options.llmBudget) || options.llmBudget < 0)) throw new TypeError(`llmBudget must be a whole number of tokens (0: no budget), got ${options.llmBudget}`)
  if (options.llmUrl !== undefined) {
    if (!isHttpUrl(options.llmUrl)) throw new TypeError(`llmUrl must be an http(s) URL, got ${JSON.stringify(options.llmUrl)}`)
    // A key pays for whatever is asked: the relay asks for its own model only.
    if (options.llmKey !== undefined && options.llmKey !== '' && options.llmModel === undefined) throw new TypeError('llmKey needs llmModel (--llm-model): with a key, the relay asks for its own model, never one a client names')
  } else if (options.llmKey !== undefined || options.llmModel !== undefined) {
    throw new TypeError('llmKey and llmModel need llmUrl (--llm-url)')
  }
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) throw new TypeError('tlsCert and tlsKey go together (--tls-cert FILE --tls-key FILE)')
  if (options.tlsCert !== undefined) options.tls = true
  for (const address of options.bootstrap) checkPeerAddress(address)
  if (options.fetchModels.length > 0 && options.models === undefined) throw new TypeError('--fetch-model needs --models DIR, the folder it downloads into')
  const names = options.fetchModels.map(f => f.name)
  if (new Set(names).size !== names.length) throw new TypeError(`--fetch-model: two models would be named alike (${names.join(', ')})`)
  return options
}

function definedOnly<T extends object> (value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}

/** The flags, each with its environment variable and help line. */
const FLAGS = {
  port: { type: 'string', env: 'KOTOBA_PORT', arg: 'N', help: `HTTP port for the page and /firehose (default ${DEFAULT_PORT}; 0 = any free port)` },
  'ws-port': { type: 'string', env: 'KOTOBA_WS_PORT', arg: 'N', help: 'libp2p WebSocket port browsers dial (default port+1)' },
  ...LAN_HOST_FLAGS,
  'web-root': { type: 'string', env: 'KOTOBA_WEB_ROOT', arg: 'DIR', help: `built page to serve (default ${DEFAULTS.webRoot})` },
  'max-reservations': { type: 'string', env: 'KOTOBA_MAX_RESERVATIONS', arg: 'N', help: `circuit-relay reservations, one per tab (default ${DEFAULTS.maxReservations})` },
  'max-connections': { type: 'string', env: 'KOTOBA_MAX_CONNECTIONS', arg: 'N', help: `libp2p connections (default ${DEFAULTS.maxConnections})` },
  'max-firehose-clients': { type: 'string', env: 'KOTOBA_MAX_FIREHOSE_CLIENTS', arg: 'N', help: `firehose WebSocket clients (default ${DEFAULTS.maxFirehoseClients})` },
  'firehose-token': { type: 'string', env: 'KOTOBA_FIREHOSE_TOKEN', arg: 'TOKEN', help: 'firehose clients need this token to publish (?token=…); prefer the env var' },
  'firehose-read-only': { type: 'boolean', env: 'KOTOBA_FIREHOSE_READ_ONLY', arg: '', help: 'firehose clients may read but not publish' },
  'firehose-origin': { type: 'string', env: 'KOTOBA_FIREHOSE_ORIGINS', arg: 'ORIGIN', help: 'browser origin allowed on the firehose; repeatable (env: comma-separated); default any', multiple: true },
  'firehose-rate': { type: 'string', env: 'KOTOBA_FIREHOSE_RATE', arg: 'N', help: `publishes per second per firehose client, bursts of 2N (default ${DEFAULTS.firehoseRate})` },
  'firehose-replay': { type: 'string', env: 'KOTOBA_FIREHOSE_REPLAY', arg: 'N', help: `events kept per topic for firehose replay (default ${DEFAULTS.firehoseReplay})` },
  'firehose-buffer': { type: 'string', env: 'KOTOBA_FIREHOSE_BUFFER', arg: 'MIB', help: `unsent MiB a firehose client may have queued before it is dropped (default ${DEFAULTS.firehoseBufferBytes / 1024 / 1024})` },
  history: { type: 'string', env: 'KOTOBA_HISTORY', arg: 'N', help: `lines of each room's conversation kept in the data dir for whoever joins later (default ${DEFAULTS.history}; 0 keeps none)` },
  'max-rooms': { type: 'string', env: 'KOTOBA_MAX_ROOMS', arg: 'N', help: `rooms carried at once (default ${DEFAULTS.maxRooms})` },
  tls: { type: 'boolean', env: 'KOTOBA_TLS', arg: '', help: 'serve the page, /api, the firehose (wss) and the WebSocket listener on TLS, with a certificate made for this host and kept in the data dir (its SHA-256 is printed: check it against what the browser shows); plain http is sent to https' },
  'tls-cert': { type: 'string', env: 'KOTOBA_TLS_CERT', arg: 'FILE', help: 'use this certificate (PEM) for --tls instead of making one; with --tls-key' },
  'tls-key': { type: 'string', env: 'KOTOBA_TLS_KEY', arg: 'FILE', help: 'the private key (PEM) of --tls-cert' },
  'llm-max-tokens': { type: 'string', env: 'KOTOBA_LLM_MAX_TOKENS', arg: 'N', help: `the most tokens one /api/llm request may ask for; more is capped, and said (default ${DEFAULTS.llmMaxTokens}; companions ask 300 at most)` },
  'llm-rate': { type: 'string', env: 'KOTOBA_LLM_RATE', arg: 'N', help: `/api/llm requests a minute per client address, bursts of ${LLM_LIMIT_DEFAULTS.burst} (default ${DEFAULTS.llmRate})` },
  'llm-budget': { type: 'string', env: 'KOTOBA_LLM_BUDGET', arg: 'TOKENS', help: `model tokens /api/llm may spend in any hour, all clients together; 0: no budget (default ${KEYED_BUDGET_PER_HOUR} with --llm-key, none without)` },
  companion: { type: 'string', env: 'KOTOBA_COMPANIONS', arg: 'FILE[@ROOM]', help: `also run a headless companion with this card, in ROOM (default ${DEFAULT_ROOM}); thinks with --llm-url when set; repeatable`, multiple: true },
  models: { type: 'string', env: 'KOTOBA_MODELS', arg: 'DIR', help: 'serve the GGUF model files in DIR to pages that think in the tab (/api/models, /models/NAME); "ollama": the models this host\'s Ollama has pulled' },
  'ollama-models': { type: 'string', env: 'KOTOBA_OLLAMA_MODELS', arg: 'DIR', help: 'serve the GGUF models of the Ollama store in DIR (the folder holding manifests/ and blobs/), from its blobs, under Ollama\'s names' },
  'fetch-model': { type: 'string', env: 'KOTOBA_FETCH_MODELS', arg: 'URL[#sha256=HEX]', help: 'download this GGUF model into --models DIR in the background (resumed when cut, checked, then served); repeatable (env: comma-separated)', multiple: true },
  ...HELP_FLAG
} as const satisfies Flags

/**
 * `--models DIR` and `--ollama-models DIR`; `--models ollama` is the store of
 * this host's Ollama, wherever it keeps it.
 */
function modelSources (models: string | undefined, ollama: string | undefined, env: Record<string, string | undefined>): Pick<RelayOptions, 'models' | 'ollamaModels'> {
  if (models !== 'ollama') return { models, ollamaModels: ollama }
  const store = ollama ?? findOllamaStore(env)
  if (store === undefined) throw new TypeError('--models ollama: no Ollama store here (set OLLAMA_MODELS, or give --ollama-models DIR)')
  return { ollamaModels: store }
}

/** The text `--help` prints. */
export function helpText (): string {
  return [
    'Usage: node relay [options]',
    '',
    'Starts the kotoba relay: serves the companion page, relays browsers to each',
    'other (circuit-relay-v2, then direct WebRTC), carries the five GossipSub topics',
    'of every room in use,',
    'discovers LAN peers by mDNS, and serves a plain-JSON WebSocket at /firehose.',
    '',
    'Options (each also read from the environment variable in brackets; flags win):',
    ...flagRows(FLAGS)
  ].join('\n')
}

export type ParsedCommandLine = { help: true } | { help: false, options: RelayOptions }

/**
 * Reads flags, then environment variables for flags not given. Throws
 * `TypeError` with a message fit for the person who typed the command.
 */
export function parseCommandLine (argv: string[], env: Record<string, string | undefined>): ParsedCommandLine {
  const { read, integer } = readFlags(FLAGS, argv, env)
  if (read('help') === true) return { help: true }

  const mebibytes = (name: keyof typeof FLAGS): number | undefined => {
    const value = integer(name)
    return value === undefined ? undefined : value * 1024 * 1024
  }
  const seconds = (name: keyof typeof FLAGS): number | undefined => {
    const value = integer(name)
    return value === undefined ? undefined : value * 1000
  }

  const noMdns = read('no-mdns')
  return {
    help: false,
    options: resolveOptions({
      host: read('host'),
      port: integer('port'),
      wsPort: integer('ws-port'),
      tcpPort: integer('tcp-port'),
      mdns: noMdns === undefined ? undefined : noMdns !== true,
      bootstrap: read('bootstrap'),
      dataDir: read('data-dir'),
      webRoot: read('web-root'),
      maxReservations: integer('max-reservations'),
      maxConnections: integer('max-connections'),
      maxFirehoseClients: integer('max-firehose-clients'),
      firehoseToken: read('firehose-token'),
      firehoseReadOnly: read('firehose-read-only'),
      firehoseOrigins: read('firehose-origin'),
      firehoseRate: integer('firehose-rate'),
      firehoseReplay: integer('firehose-replay'),
      firehoseBufferBytes: mebibytes('firehose-buffer'),
      llmUrl: read('llm-url'),
      llmKey: read('llm-key'),
      llmModel: read('llm-model'),
      llmTimeoutMs: seconds('llm-timeout'),
      llmMaxTokens: integer('llm-max-tokens'),
      llmRate: integer('llm-rate'),
      llmBudget: integer('llm-budget'),
      tls: read('tls'),
      tlsCert: read('tls-cert'),
      tlsKey: read('tls-key'),
      companions: (read('companion'))?.map(parseCompanionSpec),
      turnLimit: integer('turn-limit'),
      ...modelSources(read('models'), read('ollama-models'), env),
      fetchModels: read('fetch-model')?.map(parseModelFetch),
      maxRooms: integer('max-rooms'),
      history: integer('history'),
      logLevel: checkLogLevel(read('log-level'))
    })
  }
}
