import { describe, expect, it } from 'vitest'
import { gaussian, hash32, mulberry32, rngFor } from './prng.ts'

describe('seeded randomness', () => {
  it('replays the same stream for the same seed and differs for another', () => {
    const a = mulberry32(1)
    const b = mulberry32(1)
    const c = mulberry32(2)
    const xs = Array.from({ length: 5 }, () => a())
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs)
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(xs)
  })

  it('spreads uniformly over [0, 1) and normally around 0', () => {
    const rng = rngFor(7, 'test')
    const u = Array.from({ length: 20_000 }, () => rng())
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...u)).toBeLessThan(1)
    expect(u.reduce((s, x) => s + x, 0) / u.length).toBeCloseTo(0.5, 1)
    const g = Array.from({ length: 20_000 }, () => gaussian(rng))
    const mean = g.reduce((s, x) => s + x, 0) / g.length
    const sd = Math.sqrt(g.reduce((s, x) => s + (x - mean) ** 2, 0) / g.length)
    expect(mean).toBeCloseTo(0, 1)
    expect(sd).toBeCloseTo(1, 1)
  })

  it('hashes keys by every part, ms timestamps included', () => {
    expect(hash32('ab', 'c')).not.toBe(hash32('a', 'bc'))
    expect(hash32(1, 1_760_000_000_000)).not.toBe(hash32(1, 1_760_000_000_000 + 2 ** 32))
    expect(hash32(1, 'x', 3)).toBe(hash32(1, 'x', 3))
  })
})
