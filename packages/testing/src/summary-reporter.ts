import type { Reporter, TestModule } from 'vitest/node'

/**
 * Ends the run with a plain `N passed, M failed` line, so CI can tell a green run from one that
 * executed nothing. Failed modules (a file that threw before its tests) count as failures.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0
    let failed = unhandledErrors.length
    let skipped = 0
    for (const mod of testModules) {
      const tests = [...mod.children.allTests()]
      if (tests.length === 0 && mod.state() === 'failed') failed++
      for (const t of tests) {
        const s = t.result().state
        if (s === 'passed') passed++
        else if (s === 'failed') failed++
        else skipped++
      }
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`)
  }
}
