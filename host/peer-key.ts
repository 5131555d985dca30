/**
 * A node's identity on disk (the relay's, a headless companion's): an Ed25519
 * key, so the peer id, and with it
 * every multiaddr a tab or a LAN peer knows, survives a restart.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'

const KEY_FILE = 'peer-key'

/**
 * Loads the key kept in `dataDir`, or creates and keeps a new one. A file
 * that exists but cannot be read as a key is an error, never silently
 * replaced: replacing it would change the relay's peer id.
 */
export async function loadOrCreatePeerKey (dataDir: string): Promise<PrivateKey> {
  const path = join(dataDir, KEY_FILE)
  let bytes: Buffer | undefined
  try {
    bytes = await readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  if (bytes !== undefined) {
    try {
      return privateKeyFromProtobuf(bytes)
    } catch (err) {
      throw new Error(`${path} is not a libp2p private key (${(err as Error).message}); move it away to start with a new peer id`)
    }
  }

  const key = await generateKeyPair('Ed25519')
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  await writeKeyFile(path, privateKeyToProtobuf(key), 0o600)
  return key
}

/** Writes a key file (or its certificate) then renames it into place, so a crash never leaves half a key behind. */
export async function writeKeyFile (path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`
  await writeFile(temporary, data, { mode })
  await rename(temporary, path)
}
