/**
 * Whether a file on this host is a GGUF model file, by its first bytes (the
 * relay's `--models` folder, the headless companion's `--model`).
 */
import { open } from 'node:fs/promises'
import { isGgufHeader } from '../companion/local-model.ts'

export async function isGgufFile (path: string): Promise<boolean> {
  const file = await open(path, 'r')
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(4), 0, 4, 0)
    return isGgufHeader(buffer.subarray(0, bytesRead))
  } finally {
    await file.close()
  }
}
