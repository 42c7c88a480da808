import { describe, expect, it } from 'vitest'
import type { Client } from 'aedes'
import { createPublishRateLimit } from './publish-rate.ts'

describe('publish rate limit', () => {
  it('lets a burst through, refuses the next, and refills at the rate', () => {
    let now = 0
    const limit = createPublishRateLimit(10, 3, () => now)
    const a = {} as Client
    const b = {} as Client
    expect([limit.take(a), limit.take(a), limit.take(a), limit.take(a)]).toEqual([true, true, true, false])
    // Another connection has its own bucket.
    expect(limit.take(b)).toBe(true)
    now += 100 // one token at 10/s
    expect([limit.take(a), limit.take(a)]).toEqual([true, false])
  })

  it('is off at rate 0', () => {
    const limit = createPublishRateLimit(0, 0)
    const c = {} as Client
    expect(Array.from({ length: 1000 }, () => limit.take(c)).every(Boolean)).toBe(true)
  })
})
