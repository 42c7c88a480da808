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
const S = 1000
const MIN = 60_000

/** A wrong password, as the sign-in route sees it: the attempt is let through (0), and nothing more is said. */
const fail = async (t: LoginThrottle, name: string, ip: string, now: number) => expect(await t.attempt(name, ip, now)).toBe(0)
/** A right password: the attempt, then succeeded() when it was let through. The wait when it was held up. */
const signIn = async (t: LoginThrottle, name: string, ip: string, now: number): Promise<number> => {
  const wait = await t.attempt(name, ip, now)
  if (wait === 0) await t.succeeded(name, ip, now)
  return wait
}

export function runThrottleContract(name: string, make: () => Promise<ThrottleBackend>): void {
  describe(`login throttle and rate limit contract: ${name}`, () => {
    it('a (name, address) pair fails maxFailures times freely, then waits a delay doubling with each failure, up to lockoutMs', async () => {
      const t = (await make()).throttle({ maxFailures: 3, windowMs: 15 * MIN, lockoutMs: MIN })
      let now = T0
      for (let i = 0; i < 3; i++) await fail(t, 'admin', '10.0.0.1', now)
      const waits: number[] = []
      for (let i = 0; i < 9; i++) {
        const wait = await t.attempt('admin', '10.0.0.1', now)
        waits.push(wait)
        // Held up until the last millisecond of the wait, then let through (a held-up attempt counts for nothing).
        expect(await t.attempt('admin', '10.0.0.1', now + wait * S - 1)).toBe(1)
        now += wait * S
        await fail(t, 'admin', '10.0.0.1', now)
      }
      expect(waits).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60])
    })

    it("a stranger's failures never hold up the name from another address: the right password goes through there", async () => {
      const t = (await make()).throttle({ maxFailures: 5, windowMs: 15 * MIN, lockoutMs: 15 * MIN })
      let now = T0
      for (let done = 0; done < 10; ) {
        const wait = await t.attempt('admin', '10.0.0.66', now)
        if (wait > 0) now += wait * S
        else done++
      }
      expect(await t.attempt('admin', '10.0.0.66', now)).toBe(32)
      expect(await signIn(t, 'admin', '10.0.0.7', now)).toBe(0)
      // Nor a failure of the operator's own: that pair has a count of its own.
      await fail(t, 'admin', '10.0.0.7', now)
      expect(await signIn(t, 'admin', '10.0.0.7', now)).toBe(0)
      expect(await t.attempt('admin', '10.0.0.66', now)).toBe(32)
    })

    it("a success forgets the pair's failures but not the address's: signing in to one's own account between guesses resets nothing", async () => {
      const t = (await make()).throttle({ maxFailures: 3, addressMaxFailures: 6, windowMs: 15 * MIN, lockoutMs: 5 * MIN })
      await fail(t, 'op1', '10.0.0.1', T0)
      await fail(t, 'op1', '10.0.0.1', T0)
      expect(await signIn(t, 'op1', '10.0.0.1', T0)).toBe(0)
      // Forgotten: three free failures again.
      for (let i = 0; i < 3; i++) await fail(t, 'op1', '10.0.0.1', T0)
      expect(await t.attempt('op1', '10.0.0.1', T0)).toBe(1)
      // The address has 5 failures; the guesser's own successful sign-ins do not take any back.
      for (let i = 0; i < 3; i++) expect(await signIn(t, 'mallory', '10.0.0.1', T0)).toBe(0)
      await fail(t, 'x', '10.0.0.1', T0)
      expect(await t.attempt('y', '10.0.0.1', T0)).toBe(300)
      expect(await signIn(t, 'mallory', '10.0.0.1', T0)).toBe(300)
      expect(await signIn(t, 'mallory', '10.0.0.2', T0)).toBe(0)
    })

    it('an address failing over many names is locked for lockoutMs whatever name it tries, by default after 4× maxFailures; other addresses are not', async () => {
      const t = (await make()).throttle({ maxFailures: 2, windowMs: MIN, lockoutMs: 5 * MIN })
      for (let i = 0; i < 7; i++) await fail(t, `name-${i}`, '10.0.0.66', T0 + i)
      // 7 failures: not yet; a right password (counted, then taken back) goes through.
      expect(await signIn(t, 'someone', '10.0.0.66', T0 + 10)).toBe(0)
      await fail(t, 'name-7', '10.0.0.66', T0 + 20)
      expect(await t.attempt('someone', '10.0.0.66', T0 + 20)).toBe(300)
      expect(await signIn(t, 'someone', '10.0.0.67', T0 + 20)).toBe(0)
      // After the lock, an address that has not been quiet for windowMs is locked again by its next failure.
      const after = T0 + 20 + 5 * MIN
      await fail(t, 'name-8', '10.0.0.66', after)
      expect(await t.attempt('someone', '10.0.0.66', after)).toBe(300)
    })

    it('forgets a pair or an address after windowMs without failures, counted from the end of its wait', async () => {
      const b = await make()
      const t = b.throttle({ maxFailures: 2, addressMaxFailures: 100, windowMs: MIN, lockoutMs: 5 * MIN })
      await fail(t, 'a', '10.0.0.1', T0)
      await fail(t, 'a', '10.0.0.1', T0)
      expect(await t.attempt('a', '10.0.0.1', T0)).toBe(1)
      // Not quiet for long enough: the count goes on (the wait doubles).
      const later = T0 + S + MIN - 1
      await fail(t, 'a', '10.0.0.1', later)
      expect(await t.attempt('a', '10.0.0.1', later)).toBe(2)
      // Quiet for windowMs after its wait: forgotten, two free failures again.
      const quiet = later + 2 * S + MIN
      await fail(t, 'a', '10.0.0.1', quiet)
      await fail(t, 'a', '10.0.0.1', quiet)
      expect(await t.attempt('a', '10.0.0.1', quiet)).toBe(1)

      const u = b.throttle({ maxFailures: 100, addressMaxFailures: 3, windowMs: MIN, lockoutMs: 5 * MIN })
      for (let i = 0; i < 3; i++) await fail(u, `n${i}`, '10.0.0.9', T0)
      expect(await u.attempt('n', '10.0.0.9', T0 + 5 * MIN - 1)).toBe(1)
      const forgotten = T0 + 5 * MIN + MIN
      for (let i = 0; i < 3; i++) await fail(u, `m${i}`, '10.0.0.9', forgotten)
      expect(await u.attempt('n', '10.0.0.9', forgotten)).toBe(300)
    })

    it('counts an attempt before the password is checked: parallel guesses cannot overrun the limits', async () => {
      const t = (await make()).throttle({ maxFailures: 3, windowMs: MIN, lockoutMs: MIN })
      const pair = await Promise.all(Array.from({ length: 20 }, () => t.attempt('admin', '10.0.0.1', T0)))
      expect(pair.filter((w) => w === 0)).toHaveLength(3)
      const spray = await Promise.all(Array.from({ length: 40 }, (_, i) => t.attempt(`name-${i}`, '10.0.0.2', T0)))
      expect(spray.filter((w) => w === 0)).toHaveLength(12)
    })

    it('takes an IPv6 client by its /64 (one subscriber), and an IPv4-mapped address as the IPv4 one', async () => {
      const t = (await make()).throttle({ maxFailures: 2, windowMs: MIN, lockoutMs: MIN })
      await fail(t, 'a', '2001:db8:1:2::1', T0)
      await fail(t, 'a', '2001:0db8:0001:0002:ffff:0:0:9', T0)
      expect(await t.attempt('a', '2001:db8:1:2:abcd::77', T0)).toBe(1)
      expect(await t.attempt('a', '2001:db8:1:3::1', T0)).toBe(0)
      await fail(t, 'b', '::ffff:10.0.0.5', T0)
      await fail(t, 'b', '10.0.0.5', T0)
      expect(await t.attempt('b', '::FFFF:10.0.0.5', T0)).toBe(1)
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
