/**
 * `npm run bench -- page`: what the page's first load weighs (gzip -9), and
 * a bundle report: the packages that make it up, largest first, and what
 * loads later on demand. Builds the page afresh into a temporary folder.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build } from 'vite'
import type { Plugin } from 'vite'
import { FIRST_LOAD_BUDGET_BYTES, pageWeight } from '../test/helpers/page-weight.ts'

const root = join(import.meta.dirname, '..')
/** kB of 1024 bytes, as the budget is stated. */
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} kB`

/** Code per package (or per folder of ours) in the chunks of the build, by chunk file. */
function packageReport (sizes: Map<string, Map<string, string[]>>): Plugin {
  return {
    name: 'kotoba-package-report',
    generateBundle (_options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk') continue
        const byPackage = new Map<string, string[]>()
        for (const [id, module] of Object.entries(chunk.modules)) {
          const inModules = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(id)
          const name = inModules?.[1] ?? id.slice(root.length + 1).split('/').slice(0, -1).join('/')
          byPackage.set(name, [...(byPackage.get(name) ?? []), module.code ?? ''])
        }
        sizes.set(chunk.fileName, byPackage)
      }
    }
  }
}

export async function benchPageWeight (): Promise<void> {
  const outDir = await mkdtemp(join(tmpdir(), 'kotoba-page-'))
  const sizes = new Map<string, Map<string, string[]>>()
  try {
    await build({ root, logLevel: 'warn', build: { outDir, emptyOutDir: true }, plugins: [packageReport(sizes)] })
    const weight = pageWeight(outDir)
    const within = weight.firstLoadGzipBytes <= FIRST_LOAD_BUDGET_BYTES
    console.log('\npage weight (gzip -9)\n')
    console.log(`  first load (entry + preloads)  ${kb(weight.firstLoadGzipBytes).padStart(9)}   budget ${kb(FIRST_LOAD_BUDGET_BYTES)}   ${within ? 'ok' : 'OVER'}`)
    for (const chunk of weight.firstLoad) console.log(`    ${chunk.file.padEnd(40)} ${kb(chunk.bytes).padStart(9)} raw ${kb(chunk.gzipBytes).padStart(9)}`)
    console.log('  on demand')
    for (const chunk of weight.onDemand) console.log(`    ${chunk.file.padEnd(40)} ${kb(chunk.bytes).padStart(9)} raw ${kb(chunk.gzipBytes).padStart(9)}`)
    // Each package's code gzipped alone: more than its share of the whole, but it ranks them.
    const first = new Map<string, string[]>()
    for (const chunk of weight.firstLoad) {
      for (const [name, code] of sizes.get(chunk.file.replace(/^.*?assets\//, 'assets/')) ?? []) first.set(name, [...(first.get(name) ?? []), ...code])
    }
    const rows = [...first].map(([name, code]) => ({ name, raw: code.join('\n').length, gzip: gzipSync(code.join('\n'), { level: 9 }).byteLength }))
      .sort((a, b) => b.gzip - a.gzip)
    console.log('  first load by package (each gzipped alone), largest first')
    for (const row of rows.slice(0, 20)) console.log(`    ${row.name.padEnd(40)} ${kb(row.raw).padStart(9)} raw ${kb(row.gzip).padStart(9)}`)
    console.log(`    … and ${Math.max(0, rows.length - 20)} more`)
  } finally {
    await rm(outDir, { recursive: true, force: true })
  }
}

if (import.meta.main) await benchPageWeight()
