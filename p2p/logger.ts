/**
 * The one logger every long-lived piece writes to: lines with a level, so an
 * operator can ask for less (`--log-level warn`) or more (`debug`). A piece
 * gets it as `log` in its options; only a process's entry point decides
 * where lines go (the relay's and the headless companion's `main.ts`: the
 * terminal; a test: an array, or nowhere).
 */

/** Least to most severe. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const
export type LogLevel = typeof LOG_LEVELS[number]

export interface Logger {
  /** What helps find a fault, and is noise otherwise (each dial, each refused payload). */
  debug: (line: string) => void
  /** What an operator watches: who came and went, what the process does. */
  info: (line: string) => void
  /** Something went wrong and was handled (a peer unreachable, a file left out). */
  warn: (line: string) => void
  /** Something went wrong that needs a person (a write that failed). */
  error: (line: string) => void
}

export const isLogLevel = (value: string): value is LogLevel => (LOG_LEVELS as readonly string[]).includes(value)

/** A logger that hands `write` every line at `level` or above, with its level. */
export function createLogger (write: (line: string, level: LogLevel) => void, level: LogLevel = 'info'): Logger {
  const least = LOG_LEVELS.indexOf(level)
  const at = (l: LogLevel) => LOG_LEVELS.indexOf(l) < least ? () => {} : (line: string) => { write(line, l) }
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

/** A logger printing to the terminal (errors to stderr), each line after `prefix`. */
export function consoleLogger (level: LogLevel = 'info', prefix = ''): Logger {
  return createLogger((line, l) => { (l === 'error' ? console.error : console.log)(`${prefix}${line}`) }, level)
}

/** Writes nothing (a test that does not read the log). */
export const SILENT: Logger = createLogger(() => {}, 'error')
