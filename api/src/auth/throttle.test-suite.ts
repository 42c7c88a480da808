import { describe, expect, it } from 'vitest'
import type { LoginThrottle, LoginThrottleOptions, RateLimit } from './throttle.ts'

/*
 * The rules of the sign-in throttle and the rate limit, owed by the in-memory one (throttle.test.ts) and the
 * Redis one (throttle-redis.test.ts). Each `open` is a node; in memory, the nodes are one process's.
 */
export interface ThrottleBackend {
  throttle(opts: LoginThrottleOptions): LoginThrottle
  rateLimit(perMinute: number): RateLimit
}

const T0 = Date.UTC(2026, 10, 26, 1)
const MIN = 60_000

export function runThrottleContract(name: string, make: () => Promise<ThrottleBackend>): void {
  describe(`login throttle and rate limit contract: ${name}`, () => {
    it('locks a name after maxFailures within the window, for lockoutMs; a success clears the count', async () => {
      const t = (await make()).throttle({ maxFailures: 3, windowMs: 15 * MIN, lockoutMs: 15 * MIN })
      await t.failed('op1', '10.0.0.1', T0)
      await t.failed('op1', '10.0.0.2', T0 + 1000)
      expect(await t.retryAfterS('op1', '10.0.0.3', T0 + 2000)).toBe(0)
      await t.succeeded('op1')
      await t.failed('op1', '10.0.0.1', T0 + 3000)
      await t.failed('op1', '10.0.0.1', T0 + 4000)
      expect(await t.retryAfterS('op1', '10.0.0.9', T0 + 5000)).toBe(0)
      await t.failed('op1', '10.0.0.2', T0 + 6000)
      expect(await t.retryAfterS('op1', '10.0.0.9', T0 + 6000)).toBe(900)
      expect(await t.retryAfterS('op2', '10.0.0.9', T0 + 6000)).toBe(0)
      expect(await t.retryAfterS('op1', '10.0.0.9', T0 + 6000 + 15 * MIN)).toBe(0)
    })

    it('forgets failures older than the window; an address is locked after 4× maxFailures over any names', async () => {
      const t = (await make()).throttle({ maxFailures: 2, windowMs: MIN, lockoutMs: 5 * MIN })
      await t.failed('op1', '10.0.0.1', T0)
      await t.failed('op1', '10.0.0.1', T0 + 2 * MIN)
      expect(await t.retryAfterS('op1', '10.0.0.7', T0 + 2 * MIN)).toBe(0)
      for (let i = 0; i < 7; i++) await t.failed(`name-${i}`, '10.0.0.66', T0 + 3 * MIN + i)
      expect(await t.retryAfterS('someone', '10.0.0.66', T0 + 3 * MIN + 10)).toBe(0)
      await t.failed('name-8', '10.0.0.66', T0 + 3 * MIN + 20)
      expect(await t.retryAfterS('someone', '10.0.0.66', T0 + 3 * MIN + 20)).toBe(300)
    })

    it('rate limit: perMinute requests, then a wait until a token is back; 0 means no limit', async () => {
      const b = await make()
      const r = b.rateLimit(3)
      for (let i = 0; i < 3; i++) expect(await r.take('10.0.0.1', T0)).toBe(0)
      expect(await r.take('10.0.0.1', T0)).toBe(20)
      expect(await r.take('10.0.0.2', T0)).toBe(0)
      expect(await r.take('10.0.0.1', T0 + 20_000)).toBe(0)
      const none = b.rateLimit(0)
      for (let i = 0; i < 10; i++) expect(await none.take('10.0.0.1', T0)).toBe(0)
    })
  })
}
