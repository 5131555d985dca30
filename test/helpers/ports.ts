/** Loopback ports for tests. */
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'

/**
 * A loopback port that was free a moment ago (bound, then released), for a
 * server a test starts, stops and starts again on the same port. Not for a
 * port that must stay closed: the next `listen(0)` anywhere may get it.
 */
export async function freePort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await new Promise(resolve => server.once('listening', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise(resolve => server.close(resolve))
  return port
}

/**
 * A loopback port where a connection is refused, every time: port 2 is
 * privileged, below the ephemeral range, so no server a test starts on port 0
 * can be given it, and nothing listens there. (Port 1 would do as well, but
 * fetch refuses it as a "bad port" before trying.)
 */
export const REFUSING_PORT = 2
