/** Reading a whole libp2p stream, bounded: a peer cannot make us buffer more than `limit` bytes. */
import type { Stream } from '@libp2p/interface'

export async function readAll (stream: Stream, limit: number, what = 'answer'): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of stream) {
    const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
    size += bytes.byteLength
    if (size > limit) throw new Error(`${what} larger than ${limit} bytes`)
    chunks.push(bytes)
  }
  const all = new Uint8Array(size)
  let offset = 0
  for (const c of chunks) { all.set(c, offset); offset += c.byteLength }
  return all
}
