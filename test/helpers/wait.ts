/** Polls `condition` until it returns a value other than undefined/false, or fails after `timeout` ms. */
export async function waitFor<T> (condition: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeout = 15_000, interval = 25): Promise<T> {
  const deadline = Date.now() + timeout
  for (;;) {
    const value = await condition()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, interval))
  }
}
