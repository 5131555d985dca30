/**
 * Polls `condition` until it returns a value other than undefined/false, or
 * fails after `timeout` ms. A check that never settles (a page that stopped
 * answering) fails at the deadline too, not never.
 */
export async function waitFor<T> (condition: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeout = 15_000, interval = 25): Promise<T> {
  const deadline = Date.now() + timeout
  const timedOut = (): Error => new Error(`timed out after ${timeout} ms waiting for ${what}`)
  for (;;) {
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(timedOut()) }, Math.max(0, deadline - Date.now()) + interval) })
    let value: T | undefined | false
    try {
      value = await Promise.race([condition(), late])
    } finally {
      clearTimeout(timer)
    }
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw timedOut()
    await new Promise(resolve => setTimeout(resolve, interval))
  }
}
