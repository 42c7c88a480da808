/*
 * Small, seeded, reproducible randomness. Math.random is never used for values: the same SIM_SEED
 * and the same simulated time must give the same readings, so demos and tests can be replayed.
 */

/** Uniform in [0, 1). */
export type Rng = () => number

/** mulberry32: a 32-bit state generator, fast and good enough for simulation noise (not for secrets). */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

const mix = (h: number, k: number): number => {
  k = Math.imul(k, 0xcc9e2d51)
  k = (k << 15) | (k >>> 17)
  k = Math.imul(k, 0x1b873593)
  h ^= k
  h = (h << 13) | (h >>> 19)
  return (Math.imul(h, 5) + 0xe6546b64) | 0
}

const avalanche = (h: number): number => {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/**
 * Hashes a key of strings and numbers to 32 bits (murmur3 mixing). Integers up to 2^53 (ms
 * timestamps) keep both halves; each part ends with a tag so ("ab","c") and ("a","bc") differ.
 */
export function hash32(...parts: ReadonlyArray<string | number>): number {
  let h = 0x9747b28c
  for (const p of parts) {
    if (typeof p === 'number' && Number.isSafeInteger(p)) {
      h = mix(h, p >>> 0)
      h = mix(h, Math.floor(p / 4_294_967_296) >>> 0)
      h = mix(h, 0x6e756d)
    } else {
      const s = String(p)
      for (let i = 0; i < s.length; i++) h = mix(h, s.charCodeAt(i))
      h = mix(h, s.length ^ 0x737472)
    }
  }
  return avalanche(h)
}

/** A generator seeded from a key, e.g. rngFor(seed, 'rain-day', day): the same key always replays the same stream. */
export const rngFor = (...key: ReadonlyArray<string | number>): Rng => mulberry32(hash32(...key))

/** Standard normal deviate (Box–Muller). */
export function gaussian(rng: Rng): number {
  const u = 1 - rng()
  const v = rng()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
}
