/** The whole project type-checks: TypeScript for .ts, svelte-check for components. */
import { it } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..', '..')
const bin = (name: string): string => join(root, 'node_modules', '.bin', name)

it('tsc --noEmit reports no errors', () => {
  const result = spawnSync(bin('tsc'), ['--noEmit', '-p', root], { cwd: root, encoding: 'utf8' })
  assert.equal(result.status, 0, result.stdout + result.stderr)
})

it('svelte-check reports no errors or warnings', () => {
  const result = spawnSync(bin('svelte-check'), ['--tsconfig', './tsconfig.json', '--threshold', 'warning', '--output', 'machine'], { cwd: root, encoding: 'utf8' })
  assert.equal(result.status, 0, result.stdout + result.stderr)
})
