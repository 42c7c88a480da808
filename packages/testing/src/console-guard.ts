import { formatWithOptions } from 'node:util'

/*
 * A test fails when it, or the code it runs, writes to the console (vitest.config.ts: setupFiles, console-guard-setup.ts).
 * Modules log through the structured logger they are given; only entry points (main.ts, CLIs) write to
 * process.stdout/stderr, which this does not watch. A test that expects console output says so with
 * allowConsoleOutput(), which also hands it what was written.
 */

export const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const

interface GuardState {
  /** Lines written since the current test (or, between tests, the current file) began. */
  written: string[]
  /** The current test opted in: its output is kept for it, not a failure. */
  allowed: boolean
}

// On globalThis so the setup file and a test importing @mytho/testing share one state whatever module instance each gets.
const KEY = Symbol.for('mytho.console-guard')
export const guardState = (): GuardState => ((globalThis as Record<symbol, GuardState | undefined>)[KEY] ??= { written: [], allowed: false })

export const formatConsoleArgs = (method: string, args: unknown[]): string => `console.${method}: ${formatWithOptions({ colors: false, depth: 4 }, ...args)}`

/**
 * The current test expects console output: it passes, and the returned array (live) holds each line written
 * during it as `console.<method>: <text>`, for the test to check.
 */
export function allowConsoleOutput(): readonly string[] {
  const state = guardState()
  state.allowed = true
  return state.written
}
