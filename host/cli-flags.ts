/**
 * Command-line flags with environment-variable fallbacks, shared by
 * `node relay` and `npm run companion`: one table per command gives each
 * flag's type, variable and help line, and the flags both commands take are
 * declared once, here (`LAN_HOST_FLAGS`), with one default each. Reading a
 * flag gives the type its table says: a string, a switch, or a list.
 */
import { parseArgs } from 'node:util'
import { CHAT_DEFAULTS } from '../companion/chat-completions.ts'
import { DEFAULT_TURN_SETTINGS, TURN_LIMIT_BOUNDS } from '../companion/turn-state.ts'
import { LOG_LEVELS } from '../p2p/logger.ts'

export interface Flag {
  type: 'string' | 'boolean'
  /** Environment variable read when the flag is not given ('' for none). */
  env: string
  /** What the flag takes, for the help text ('' for a switch). */
  arg: string
  help: string
  multiple?: boolean
  short?: string
}

export type Flags = Record<string, Flag>

/** What reading a flag of this kind gives. */
export type FlagValue<F extends Flag> = F['type'] extends 'boolean' ? boolean : F['multiple'] extends true ? string[] : string

/** The default a model request waits, for the relay's proxy and a companion alike (ms). */
export const LLM_TIMEOUT_MS = CHAT_DEFAULTS.timeoutMs

/**
 * The flags of every process that runs on a LAN host (the relay and the
 * headless companion), declared once. Where the two differ, the help says
 * how and why.
 */
export const LAN_HOST_FLAGS = {
  host: { type: 'string', env: 'KOTOBA_HOST', arg: 'ADDR', help: 'interface to listen on (default 0.0.0.0: the whole LAN)' },
  'tcp-port': { type: 'string', env: 'KOTOBA_TCP_PORT', arg: 'N', help: 'libp2p TCP port for LAN peers (relay: default --port+2, a port its neighbours can be told; companion: default 0, any free port, which mDNS and the room\'s directory tell)' },
  'no-mdns': { type: 'boolean', env: 'KOTOBA_NO_MDNS', arg: '', help: 'do not discover LAN peers by mDNS (no multicast at all)' },
  bootstrap: { type: 'string', env: 'KOTOBA_BOOTSTRAP', arg: 'MULTIADDR', help: 'peer to dial at start and re-dial when lost; repeatable (env: comma-separated)', multiple: true },
  'data-dir': { type: 'string', env: 'KOTOBA_DATA_DIR', arg: 'DIR', help: 'where the peer key (and a relay\'s rooms\' history) is kept, one running process per dir (relay: default .kotoba; companion: default .kotoba/companions/<card id>, one per card)' },
  'llm-url': { type: 'string', env: 'KOTOBA_LLM_URL', arg: 'URL', help: 'OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1: what a companion thinks with; a relay also lets pages use it through /api/llm (default: none, the built-in brain)' },
  'llm-key': { type: 'string', env: 'KOTOBA_LLM_KEY', arg: 'KEY', help: 'API key for --llm-url; a relay never sends it to pages (prefer the env var: flags show in ps)' },
  'llm-model': { type: 'string', env: 'KOTOBA_LLM_MODEL', arg: 'NAME', help: 'model to ask --llm-url for (a companion needs one; a relay without it asks for the model a page names)' },
  'llm-timeout': { type: 'string', env: 'KOTOBA_LLM_TIMEOUT', arg: 'SECONDS', help: `how long one model request may take (default ${LLM_TIMEOUT_MS / 1000}: a companion gives up then, its turn passing on, so a relay waits no longer for it either)` },
  'turn-limit': { type: 'string', env: 'KOTOBA_TURN_LIMIT', arg: 'N', help: `lines before a conversation of this process's companions must close (default ${DEFAULT_TURN_SETTINGS.turnLimit}, at most ${TURN_LIMIT_BOUNDS.max})` },
  'log-level': { type: 'string', env: 'KOTOBA_LOG_LEVEL', arg: 'LEVEL', help: `the least a line must matter to be printed: ${LOG_LEVELS.join(', ')} (default info)` }
} as const satisfies Flags

export const HELP_FLAG = {
  help: { type: 'boolean', env: '', arg: '', help: 'show this help', short: 'h' }
} as const satisfies Flags

/** The options part of a help text: one line per flag, with its variable. */
export function flagRows (flags: Flags): string[] {
  return Object.entries(flags).map(([name, flag]) => {
    const left = `  --${name}${flag.arg === '' ? '' : ' ' + flag.arg}`
    const env = flag.env === '' ? '' : ` [${flag.env}]`
    return `${left.padEnd(30)} ${flag.help}${env}`
  })
}

export interface ReadFlags<F extends Flags> {
  /** The flag's value, else its variable's (lists comma-separated, switches 0/false/no = off). */
  read: <K extends keyof F & string>(name: K) => FlagValue<F[K]> | undefined
  /** A whole number, or a TypeError naming the flag. */
  integer: (name: keyof F & string) => number | undefined
}

/** Parses `argv` strictly; throws `TypeError` with a message fit for the person who typed it. */
export function readFlags<F extends Flags> (flags: F, argv: string[], env: Record<string, string | undefined>): ReadFlags<F> {
  let values: Record<string, string | boolean | string[] | undefined>
  try {
    const parseOptions = Object.fromEntries(Object.entries(flags).map(([name, flag]) => [name, {
      type: flag.type,
      ...(flag.multiple === true ? { multiple: true } : {}),
      ...(flag.short === undefined ? {} : { short: flag.short })
    }]))
    values = parseArgs({ args: argv, options: parseOptions as never, strict: true, allowPositionals: false }).values as typeof values
  } catch (err) {
    throw new TypeError((err as Error).message)
  }
  const raw = (name: string): string | boolean | string[] | undefined => {
    if (values[name] !== undefined) return values[name]
    const flag = flags[name]
    const fromEnv = flag.env === '' ? undefined : env[flag.env]
    if (fromEnv === undefined || fromEnv === '') return undefined
    if (flag.type === 'boolean') return !['0', 'false', 'no'].includes(fromEnv.toLowerCase())
    if (flag.multiple === true) return fromEnv.split(',').map(s => s.trim()).filter(s => s !== '')
    return fromEnv
  }
  // parseArgs and the variables give each flag the kind its table says.
  const read = <K extends keyof F & string>(name: K): FlagValue<F[K]> | undefined => raw(name) as FlagValue<F[K]> | undefined
  const integer = (name: keyof F & string): number | undefined => {
    const value = raw(name)
    if (value === undefined) return undefined
    const text = String(value)
    if (!/^\d+$/.test(text)) throw new TypeError(`--${name} must be a whole number, got ${JSON.stringify(text)}`)
    return Number(text)
  }
  return { read, integer }
}
