/**
 * Peer keys fixed by a name: the same name, the same key and peer id on
 * every run. Tests that run beside the aikyo test peer use them for the
 * relay and the headless companions (`writePeerKey` into their data dir):
 * a real aikyo node stops hearing a host from which about 15 peer ids came
 * within the hour, and fixed keys also let a test choose which of two peer
 * ids is the smaller.
 */
import { createHash } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPairFromSeed, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'

export interface FixedKey {
  peerId: string
  /** The private key as protobuf bytes, base64 (what the aikyo test peer takes). */
  base64: string
  bytes: Uint8Array
}

export async function fixedKey (name: string): Promise<FixedKey> {
  const seed = createHash('sha256').update(`kotoba test key: ${name}`).digest()
  const key = await generateKeyPairFromSeed('Ed25519', seed)
  const bytes = privateKeyToProtobuf(key)
  return { peerId: peerIdFromPrivateKey(key).toString(), base64: Buffer.from(bytes).toString('base64'), bytes }
}

/** Makes `dataDir` (a relay's or headless companion's) start with `key` as its peer key. */
export async function writePeerKey (dataDir: string, key: FixedKey): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  await writeFile(join(dataDir, 'peer-key'), key.bytes, { mode: 0o600 })
}
