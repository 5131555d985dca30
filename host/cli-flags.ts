/**
 * Command-line flags with environment-variable fallbacks, shared by
 * `node relay` and `npm run companion`: one table per command gives each
 * flag's type, variable and help line.
 */
import { parseArgs } from 'node:util'

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

/** The options part of a help text: one line per flag, with its variable. */
export function flagRows (flags: Flags): string[] {
  return Object.entries(flags).map(([name, flag]) => {
    const left = `  --${name}${flag.arg === '' ? '' : ' ' + flag.arg}`
    const env = flag.env === '' ? '' : ` [${flag.env}]`
    return `${left.padEnd(30)} ${flag.help}${env}`
  })
}

export interface ReadFlags {
  /** The flag's value, else its variable's (lists comma-separated, switches 0/false/no = off). */
  read: (name: string) => string | boolean | string[] | undefined
  /** A whole number, or a TypeError naming the flag. */
  integer: (name: string) => number | undefined
}

/** Parses `argv` strictly; throws `TypeError` with a message fit for the person who typed it. */
export function readFlags (flags: Flags, argv: string[], env: Record<string, string | undefined>): ReadFlags {
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
  const read = (name: string): string | boolean | string[] | undefined => {
    if (values[name] !== undefined) return values[name]
    const flag = flags[name]
    const fromEnv = flag.env === '' ? undefined : env[flag.env]
    if (fromEnv === undefined || fromEnv === '') return undefined
    if (flag.type === 'boolean') return !['0', 'false', 'no'].includes(fromEnv.toLowerCase())
    if (flag.multiple === true) return fromEnv.split(',').map(s => s.trim()).filter(s => s !== '')
    return fromEnv
  }
  const integer = (name: string): number | undefined => {
    const raw = read(name)
    if (raw === undefined) return undefined
    const text = String(raw)
    if (!/^\d+$/.test(text)) throw new TypeError(`--${name} must be a whole number, got ${JSON.stringify(text)}`)
    return Number(text)
  }
  return { read, integer }
}
