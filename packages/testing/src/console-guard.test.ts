import { describe, expect, it } from 'vitest'
import { allowConsoleOutput } from './console-guard.ts'

describe('console guard (setupFiles)', () => {
  it('keeps an opted-in test’s output for it to check', () => {
    const written = allowConsoleOutput()
    console.warn('careful: %d left', 3)
    console.error(new Error('boom').message)
    expect(written).toEqual(['console.warn: careful: 3 left', 'console.error: boom'])
  })

  it('starts each test with nothing written and without the opt-in', () => {
    expect(allowConsoleOutput()).toEqual([])
  })
})
