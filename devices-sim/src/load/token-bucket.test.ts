import { describe, expect, it } from 'vitest'
import { createTokenBucket } from './token-bucket.ts'

describe('token bucket', () => {
  it('hands out the rate over time, capped at the burst', () => {
    let t = 0
    const b = createTokenBucket(1000, 200, () => t)
    t = 50
    expect(b.take()).toBe(50)
    t = 1050
    expect(b.take()).toBe(200) // a second late: only the burst, not 1000 at once
    t = 1051.5
    expect(b.take()).toBe(1)
    t = 1052
    expect(b.take()).toBe(1) // the half token left over is kept
    b.giveBack(3)
    expect(b.take()).toBe(3)
  })
})
