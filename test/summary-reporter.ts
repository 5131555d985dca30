/**
 * A node:test reporter that ends the run with one plain line,
 * `N passed, N failed, N skipped`, for CI and for people skimming.
 */
import type { TestEvent } from 'node:test/reporters'

export default async function * summary (source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  let passed = 0
  let failed = 0
  let skipped = 0
  for await (const event of source) {
    // Count tests, not the suites and files that contain them.
    if (event.type === 'test:pass' && event.data.details.type !== 'suite') {
      if (event.data.skip !== undefined || event.data.todo !== undefined) skipped++
      else passed++
    }
    if (event.type === 'test:fail' && event.data.details.type !== 'suite') failed++
  }
  yield `\n${passed} passed, ${failed} failed, ${skipped} skipped\n`
}
