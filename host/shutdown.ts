/**
 * How the relay and the headless companion stop on SIGINT and SIGTERM: the
 * first signal shuts down gracefully (exit 0, or 1 if that fails); a signal
 * again, later, exits at once. A repeat within REPEAT_GRACE_MS is the same
 * Ctrl-C arriving twice (from the terminal and from the launcher that
 * forwards it, see launcher.js), not a person insisting. A shutdown that
 * has not finished within its deadline (something it waits for never ends)
 * exits anyway, with 1, and says so: a service manager's stop, or a test's,
 * never hangs on it.
 */
const REPEAT_GRACE_MS = 1000
/** How long a graceful shutdown may take (ms). */
export const SHUTDOWN_DEADLINE_MS = 10_000

/** `shutdown` says what it is doing and closes everything; the process then exits. */
export function exitOnSignals (shutdown: (signal: string) => Promise<void>, options: { deadlineMs?: number } = {}): void {
  const deadlineMs = options.deadlineMs ?? SHUTDOWN_DEADLINE_MS
  let firstAt: number | undefined
  const onSignal = (signal: string): void => {
    if (firstAt !== undefined) {
      if (Date.now() - firstAt < REPEAT_GRACE_MS) return
      console.log(`${signal} again: exiting now`)
      process.exit(1)
    }
    firstAt = Date.now()
    setTimeout(() => {
      console.error(`shutdown did not finish within ${deadlineMs / 1000} s: exiting now`)
      process.exit(1)
    }, deadlineMs)
    shutdown(signal).then(() => { process.exit(0) }, (err: Error) => {
      console.error(`shutdown failed: ${err.message}`)
      process.exit(1)
    })
  }
  process.on('SIGINT', () => { onSignal('SIGINT') })
  process.on('SIGTERM', () => { onSignal('SIGTERM') })
}
