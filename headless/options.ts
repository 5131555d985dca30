/**
 * The headless companion's options: its card file, where it listens, how it
 * finds peers, and which brain it thinks with. Only `headless/main.ts`
 * reads argv and env; everything else receives checked `HeadlessOptions`.
 */
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { ChatEndpoint } from '../companion/chat-completions.ts'
import { TURN_LIMIT_BOUNDS, isTurnLimit } from '../companion/turn-state.ts'
import { loadCardFile } from '../host/card-file.ts'
import { HELP_FLAG, LAN_HOST_FLAGS, LLM_TIMEOUT_MS, flagRows, readFlags } from '../host/cli-flags.ts'
import type { Flags } from '../host/cli-flags.ts'
import { checkHost, checkLogLevel, checkPeerAddress, checkPort, llmEndpoint } from '../host/option-checks.ts'
import type { LogLevel } from '../p2p/logger.ts'
import type { CompanionCard } from '../protocol/payloads.ts'
import { roomKeyFromPassphrase, roomKeyFromSecret } from '../protocol/private-rooms.ts'
import type { RoomKey } from '../protocol/private-rooms.ts'
import { DEFAULT_ROOM, isPrivateRoom, parseRoomName } from '../protocol/rooms.ts'
import type { RoomName } from '../protocol/rooms.ts'

export interface HeadlessOptions {
  card: CompanionCard
  /** TCP listener interface; `0.0.0.0` serves the LAN. */
  host: string
  /** TCP port; 0 picks a free one. */
  tcpPort: number
  /** Discover LAN peers (relays, companions, aikyo nodes) by mDNS. */
  mdns: boolean
  /** Multiaddrs (with `/p2p/<id>`) dialled at start and re-dialled whenever lost. */
  bootstrap: string[]
  /** Where the peer key is kept, so the peer id survives restarts. */
  dataDir: string
  /** A language model to think with; the built-in brain when absent. */
  llm?: ChatEndpoint
  /** `llm` is shared by the room's companions (the relay's, for its own): only a few ask it to judge each line. */
  llmShared?: boolean
  /** A GGUF model file to think with, run in this process (instead of `llm`). */
  model?: string
  /** Lines before the conversation must close. */
  turnLimit?: number
  /** The room it converses in. */
  room: RoomName
  /** A private room's key (`--room-key FILE`). */
  key?: RoomKey
  /** The least a log line must matter to be printed (default info). */
  logLevel?: LogLevel
}

const FLAGS = {
  card: { type: 'string', env: 'KOTOBA_CARD', arg: 'FILE', help: 'the companion card: JSON with id, name, personality, story, sample (required)' },
  room: { type: 'string', env: 'KOTOBA_ROOM', arg: 'NAME', help: `the room to converse in (default ${DEFAULT_ROOM}, the room aikyo companions are in; a private room's name starts with ~)` },
  'room-key': { type: 'string', env: 'KOTOBA_ROOM_KEY_FILE', arg: 'FILE', help: 'a private room\'s key: a file holding its secret (the 43 characters after #key= in a share link) or its passphrase' },
  model: { type: 'string', env: 'KOTOBA_MODEL', arg: 'FILE', help: 'GGUF model file to think with, run in this process: no model server (see docs/companions.md for models that fit)' },
  ...LAN_HOST_FLAGS,
  ...HELP_FLAG
} as const satisfies Flags

export function helpText (): string {
  return [
    'Usage: npm run companion -- --card FILE [options]',
    '',
    'Runs a companion without a browser: the same companion as the page, over',
    'TCP and mDNS on the LAN (relays, other companions, aikyo nodes) and WebRTC',
    'to tabs, thinking with the built-in brain, a model server, or a model file.',
    '',
    'Options (each also read from the environment variable in brackets; flags win):',
    ...flagRows(FLAGS)
  ].join('\n')
}

export type ParsedCommandLine = { help: true } | { help: false, options: HeadlessOptions }

export async function parseCommandLine (argv: string[], env: Record<string, string | undefined>): Promise<ParsedCommandLine> {
  const { read, integer } = readFlags(FLAGS, argv, env)
  if (read('help') === true) return { help: true }
  const cardFile = read('card')
  if (cardFile === undefined) throw new TypeError('--card FILE is required: a JSON companion card')
  const room = parseRoomName(read('room') ?? DEFAULT_ROOM)
  if (!room.ok) throw new TypeError(`--room: ${room.message}`)
  const key = await readRoomKey(room.room, read('room-key'))
  const card = await loadCardFile(resolve(cardFile))
  const host = checkHost('--host', read('host') ?? '0.0.0.0')
  const tcpPort = checkPort('--tcp-port', integer('tcp-port') ?? 0)
  const bootstrap = (read('bootstrap') ?? []).map(checkPeerAddress)
  const timeout = integer('llm-timeout') ?? LLM_TIMEOUT_MS / 1000
  const turnLimit = integer('turn-limit')
  if (turnLimit !== undefined && !isTurnLimit(turnLimit)) throw new TypeError(`--turn-limit must be ${TURN_LIMIT_BOUNDS.min}-${TURN_LIMIT_BOUNDS.max}, got ${turnLimit}`)
  const llm = llmEndpoint(read('llm-url'), read('llm-model'), read('llm-key'), timeout * 1000)
  const model = read('model')
  if (model !== undefined && llm !== undefined) throw new TypeError('--model and --llm-url are two brains: choose one')
  if (model === '') throw new TypeError('--model needs a GGUF file')
  return {
    help: false,
    options: {
      card,
      room: room.room,
      ...(key === undefined ? {} : { key }),
      host,
      tcpPort,
      mdns: read('no-mdns') !== true,
      bootstrap,
      dataDir: resolve(read('data-dir') ?? join('.kotoba', 'companions', card.id)),
      logLevel: checkLogLevel(read('log-level')),
      ...(llm === undefined ? {} : { llm }),
      ...(model === undefined ? {} : { model: resolve(model) }),
      ...(turnLimit === undefined ? {} : { turnLimit })
    }
  }
}

/** `--room-key FILE`: a private room's secret (43 characters of base64url) or its passphrase. Required for a private room, refused for any other. */
async function readRoomKey (room: RoomName, file: string | undefined): Promise<RoomKey | undefined> {
  if (!isPrivateRoom(room)) {
    if (file !== undefined) throw new TypeError(`--room-key: room ${room} is not private (a private room's name starts with ~)`)
    return undefined
  }
  if (file === undefined) throw new TypeError(`--room ${room} is private: give its key with --room-key FILE (a file holding its secret or passphrase)`)
  let text: string
  try {
    text = (await readFile(resolve(file), 'utf8')).trim()
  } catch (err) {
    throw new TypeError(`--room-key ${file}: ${(err as Error).message}`)
  }
  try {
    return /^[A-Za-z0-9_-]{43}$/.test(text) ? await roomKeyFromSecret(room, text) : await roomKeyFromPassphrase(room, text)
  } catch (err) {
    throw new TypeError(`--room-key ${file}: ${(err as Error).message}`)
  }
}
