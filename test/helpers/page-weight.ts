/**
 * What the page's first load weighs: the entry chunk and every chunk it
 * imports statically (Vite preloads those), as gzip -9, read from a build's
 * manifest. Chunks imported dynamically (panels behind a click, the brains)
 * load later and are listed apart. Used by `npm run bench -- page` and by
 * the page-weight test that holds the budget.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

/** The most the first load may weigh (gzip -9 bytes). */
export const FIRST_LOAD_BUDGET_BYTES = 200 * 1024

interface ManifestChunk { file: string, isEntry?: boolean, imports?: string[], dynamicImports?: string[] }

export interface ChunkWeight { file: string, bytes: number, gzipBytes: number }

export interface PageWeight {
  /** The entry chunk and what it preloads. */
  firstLoad: ChunkWeight[]
  firstLoadGzipBytes: number
  /** JavaScript loaded later, on demand. */
  onDemand: ChunkWeight[]
}

function weigh (dist: string, file: string): ChunkWeight {
  const bytes = readFileSync(join(dist, file))
  return { file, bytes: bytes.byteLength, gzipBytes: gzipSync(bytes, { level: 9 }).byteLength }
}

/** Weighs the build in `dist` (built with `build.manifest`). */
export function pageWeight (dist: string): PageWeight {
  const manifest = JSON.parse(readFileSync(join(dist, '.vite', 'manifest.json'), 'utf8')) as Record<string, ManifestChunk>
  const entries = Object.keys(manifest).filter(key => manifest[key].isEntry === true)
  const first = new Set<string>()
  const visit = (key: string): void => {
    if (first.has(key)) return
    first.add(key)
    for (const imported of manifest[key].imports ?? []) visit(imported)
  }
  for (const key of entries) visit(key)
  const firstLoad = [...first].map(key => weigh(dist, manifest[key].file))
  const onDemand = Object.keys(manifest)
    .filter(key => !first.has(key) && manifest[key].file.endsWith('.js'))
    .map(key => weigh(dist, manifest[key].file))
  return { firstLoad, firstLoadGzipBytes: firstLoad.reduce((sum, c) => sum + c.gzipBytes, 0), onDemand }
}
