/** The page's first load stays within its budget (the build `npm test` made). */
import { it } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { FIRST_LOAD_BUDGET_BYTES, pageWeight } from '../helpers/page-weight.ts'

const dist = join(import.meta.dirname, '..', '..', 'dist')

it(`the page's first load (entry and preloads) is at most ${FIRST_LOAD_BUDGET_BYTES / 1024} kB gzip; the panels and the brains load on demand`, () => {
  const weight = pageWeight(dist)
  const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} kB`
  assert.ok(weight.firstLoadGzipBytes <= FIRST_LOAD_BUDGET_BYTES,
    `first load ${kb(weight.firstLoadGzipBytes)}: ${weight.firstLoad.map(c => `${c.file} ${kb(c.gzipBytes)}`).join(', ')}`)
  const later = weight.onDemand.map(c => c.file).join(' ')
  for (const part of ['BrainSettings', 'Settings', 'TopicLog', 'builtin-brain', 'llm-brain']) {
    assert.match(later, new RegExp(`assets/${part}-`), `${part} loads on demand`)
  }
})
