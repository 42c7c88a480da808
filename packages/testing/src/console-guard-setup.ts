import { afterAll, afterEach, beforeEach } from 'vitest'
import { CONSOLE_METHODS, formatConsoleArgs, guardState } from './console-guard.ts'

/*
 * vitest setupFiles entry (vitest.config.ts): runs before each test file. Replaces the console's methods with ones that
 * record instead of print, then fails the test that wrote (afterEach) or, for output outside any test (module load,
 * beforeAll/afterAll), the file (afterAll). Opt in with allowConsoleOutput() from @mytho/testing.
 */

const state = guardState()
for (const method of CONSOLE_METHODS) {
  console[method] = (...args: unknown[]) => {
    state.written.push(formatConsoleArgs(method, args))
  }
}

const failure = (where: string, lines: readonly string[]): Error =>
  new Error(
    `${where} wrote to the console (modules log through their logger; a test that expects output calls allowConsoleOutput() from @mytho/testing):\n` +
      lines.map((l) => `  ${l.length > 500 ? `${l.slice(0, 500)}…` : l}`).join('\n'),
  )

beforeEach(() => {
  const before = state.written.splice(0)
  state.allowed = false
  if (before.length > 0) throw failure('a hook or module load before this test', before)
})

afterEach(() => {
  const lines = state.written.splice(0)
  const allowed = state.allowed
  state.allowed = false
  if (!allowed && lines.length > 0) throw failure('this test', lines)
})

afterAll(() => {
  const lines = state.written.splice(0)
  if (lines.length > 0) throw failure('a hook or module load outside the tests of this file', lines)
})
