/**
 * Brute-force throttling of sign-in. Here in memory (per API process; a restart forgets it, which costs an
 * attacker a restart per lockout); with REDIS_URL in Redis (throttle-redis.ts), so guesses spread over
 * the API nodes of a cluster count together. After `maxFailures` failed sign-ins within `windowMs` for one user name,
 * or 4× that from one address, that name (or address) is locked for `lockoutMs`: every attempt is answered
 * 429 with Retry-After, right password or not, so guessing on during the lockout learns nothing.
 * A success clears the name's count.
 */
export interface LoginThrottle {
  /** Seconds until the name or address may try again; 0 when it may now. */
  retryAfterS(username: string, ip: string, now: number): Promise<number>
  failed(username: string, ip: string, now: number): Promise<void>
  succeeded(username: string): Promise<void>
}

export interface LoginThrottleOptions {
  maxFailures: number
  /** Failures older than this no longer count, ms. */
  windowMs: number
  lockoutMs: number
}

/** Per client address: seconds to wait, 0 when the request may go now. */
export interface RateLimit {
  take(key: string, now: number): Promise<number>
}

export function createLoginThrottle(opts: LoginThrottleOptions & { maxKeys?: number }): LoginThrottle {
  const maxKeys = opts.maxKeys ?? 100_000
  const entries = new Map<string, { failures: number[]; lockedUntil: number }>()
  const limitOf = (key: string) => (key.startsWith('ip:') ? opts.maxFailures * 4 : opts.maxFailures)
  const wait = (key: string, now: number) => {
    const e = entries.get(key)
    return e && e.lockedUntil > now ? Math.ceil((e.lockedUntil - now) / 1000) : 0
  }
  const fail = (key: string, now: number) => {
    const e = entries.get(key) ?? { failures: [], lockedUntil: 0 }
    e.failures = e.failures.filter((t) => t > now - opts.windowMs)
    e.failures.push(now)
    if (e.failures.length >= limitOf(key)) ((e.lockedUntil = now + opts.lockoutMs), (e.failures = []))
    entries.delete(key)
    entries.set(key, e)
    // Bounded memory under a spray of made-up names: the oldest entries go first.
    while (entries.size > maxKeys) entries.delete(entries.keys().next().value!)
  }
  return {
    retryAfterS: async (username, ip, now) => Math.max(wait(`user:${username}`, now), wait(`ip:${ip}`, now)),
    async failed(username, ip, now) {
      fail(`user:${username}`, now)
      fail(`ip:${ip}`, now)
    },
    async succeeded(username) {
      entries.delete(`user:${username}`)
    },
  }
}

/** Token bucket per key (client address): `perMinute` requests a minute, bursts up to the same number. */
export function createRateLimit(perMinute: number, maxKeys = 100_000): RateLimit {
  const buckets = new Map<string, { tokens: number; at: number }>()
  return {
    async take(key, now) {
      if (perMinute <= 0) return 0
      const b = buckets.get(key) ?? { tokens: perMinute, at: now }
      b.tokens = Math.min(perMinute, b.tokens + ((now - b.at) / 60_000) * perMinute)
      b.at = now
      buckets.delete(key)
      buckets.set(key, b)
      while (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value!)
      if (b.tokens < 1) return Math.ceil(((1 - b.tokens) / perMinute) * 60)
      b.tokens -= 1
      return 0
    },
  }
}
