/** Loopback ports for tests. */
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await new Promise(resolve => server.once('listening', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise(resolve => server.close(resolve))
  return port
}
