/**
 * A node:test reporter that ends the run with one plain line,
 * `N passed, N failed, N skipped`, for CI and for people skimming. Tests
 * marked todo (known bugs) are counted apart: `, N todo (M failing)`.
 */
import type { TestEvent } from 'node:test/reporters'

export default async function * summary (source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  let passed = 0
  let failed = 0
  let skipped = 0
  let todo = 0
  let todoFailing = 0
  for await (const event of source) {
    // Count tests, not the suites and files that contain them.
    if (event.type === 'test:pass' && event.data.details.type !== 'suite') {
      if (event.data.todo !== undefined) todo++
      else if (event.data.skip !== undefined) skipped++
      else passed++
    }
    if (event.type === 'test:fail' && event.data.details.type !== 'suite') {
      if (event.data.todo !== undefined) { todo++; todoFailing++ } else failed++
    }
  }
  const todos = todo > 0 ? `, ${todo} todo (${todoFailing} failing)` : ''
  yield `\n${passed} passed, ${failed} failed, ${skipped} skipped${todos}\n`
}
