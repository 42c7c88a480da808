import { isIPv6 } from 'node:net'

/**
 * Brute-force throttling of sign-in (issue #15: a lockout must hurt the guesser, not the operator). Here in memory
 * (per API process; a restart forgets it); with REDIS_URL in Redis (throttle-redis.ts), so guesses spread over the
 * API nodes of a cluster count together. Two counts, both kept by client address, never by user name alone:
 *
 *  - per (user name, address) pair: `maxFailures` failures go freely; from then on the pair waits `firstDelayMs`
 *    (1 s), doubling with each further failure up to `lockoutMs` (1 s, 2 s, 4 s … 15 min by default). Guessing one
 *    name from one place slows to one guess per `lockoutMs`; the same name from any other address is not held up.
 *  - per address, over any names: after `addressMaxFailures` (4 × maxFailures) failures the address is locked for
 *    `lockoutMs`, whatever name it tries; while it is not quiet, each further failure locks it again.
 *
 * There is no count per user name alone. Any refusal keyed on the name is a refusal anyone on the network can
 * trigger against the real operator (the old 5-failures-per-name lockout let a stranger keep `admin` out for good);
 * and a cap that "only slows" a name is the same denial of service, only slower. Guessing a name from many
 * addresses at once is answered by the per-address limits, the request rate limit, scrypt's cost per guess, the
 * password policy (@mytho/schema password-policy.ts: 12+ characters, no common or patterned password) and the
 * audit log, which keeps every failed sign-in with its address.
 *
 * A held-up attempt gets 429 with Retry-After before the password is checked, right password or not, so guessing
 * on while held up learns nothing. An attempt that is let through is counted as a failure at once (so parallel
 * guesses cannot all slip in before the first failure is recorded); a right password then clears the pair and
 * takes its attempt back from the address (but not the address's earlier failures: signing in to one's own account
 * between guesses does not reset anything). A pair or address is forgotten after `windowMs` (15 min) without a
 * failure, counted from the end of its wait. IPv6 clients are counted by their /64 (what one subscriber gets).
 */
export interface LoginThrottle {
  /**
   * Before the password is checked. 0: go ahead; the attempt is counted as a failure of the (name, address) pair and
   * of the address. Otherwise the seconds to wait (for Retry-After); nothing is counted.
   */
  attempt(username: string, ip: string, now: number): Promise<number>
  /** The password was right: the pair's failures are forgotten and the address's count gives this attempt back. */
  succeeded(username: string, ip: string, now: number): Promise<void>
}

export interface LoginThrottleOptions {
  /** Failures of one (user name, address) pair before it must wait. */
  maxFailures: number
  /** A pair or address is forgotten after this long without a failure (from the end of its wait), ms. */
  windowMs: number
  /** The longest wait of a pair, and how long an address over its limit is locked, ms. */
  lockoutMs: number
  /** A pair's first wait, doubled by each further failure, ms. Default 1,000. */
  firstDelayMs?: number
  /** Failures from one address, over any names, before it is locked. Default 4 × maxFailures. */
  addressMaxFailures?: number
}

/** Per client address: seconds to wait, 0 when the request may go now. */
export interface RateLimit {
  take(key: string, now: number): Promise<number>
}

/** The rules of both implementations, in numbers. */
export const throttleRules = (o: LoginThrottleOptions) => ({
  maxFailures: o.maxFailures,
  firstDelayMs: o.firstDelayMs ?? 1_000,
  capMs: o.lockoutMs,
  windowMs: o.windowMs,
  addressMax: o.addressMaxFailures ?? 4 * o.maxFailures,
})

/** A pair's wait after `count` failures: 0 below maxFailures, then firstDelayMs doubling up to the cap. */
export const pairDelayMs = (r: ReturnType<typeof throttleRules>, count: number): number =>
  count < r.maxFailures ? 0 : Math.min(r.capMs, r.firstDelayMs * 2 ** Math.min(count - r.maxFailures, 40))

/**
 * The address a client is counted by: IPv4 as is (an IPv4-mapped IPv6 address as its IPv4), IPv6 by its /64,
 * which is one subscriber's (counting single IPv6 addresses would give a guesser 2^64 fresh starts).
 */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip)
  if (mapped) return mapped[1]!
  const bare = ip.replace(/%.*$/, '')
  if (!isIPv6(bare)) return ip
  const groups = (part: string) => (part === '' ? [] : part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])))
  const [head = '', tail] = bare.toLowerCase().split('::')
  const h = groups(head)
  const t = tail === undefined ? [] : groups(tail)
  const all = [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t]
  return `${all
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`
}

/** The key of a (name, address) pair; the name's length first, so no name and address can pass for another pair. */
export const pairKey = (username: string, ip: string): string => `${username.length}:${username}@${addressKey(ip)}`

interface Count {
  count: number
  /** Epoch ms the wait ends (now when there is none); forgotten windowMs after it. */
  until: number
}

export function createLoginThrottle(opts: LoginThrottleOptions & { maxKeys?: number }): LoginThrottle & { size(): number } {
  const r = throttleRules(opts)
  // Bounded memory under a spray of made-up names or addresses: each map keeps its maxKeys most recently counted.
  const maxKeys = opts.maxKeys ?? 100_000
  const pairs = new Map<string, Count>()
  const addresses = new Map<string, Count>()
  const get = (m: Map<string, Count>, key: string, now: number): Count => {
    const c = m.get(key)
    return c && now < c.until + r.windowMs ? c : { count: 0, until: now }
  }
  const put = (m: Map<string, Count>, key: string, c: Count) => {
    m.delete(key)
    m.set(key, c)
    while (m.size > maxKeys) m.delete(m.keys().next().value!)
  }
  return {
    async attempt(username, ip, now) {
      const pk = pairKey(username, ip)
      const ak = addressKey(ip)
      const pair = get(pairs, pk, now)
      const address = get(addresses, ak, now)
      const waitMs = Math.max(pair.until, address.until) - now
      if (waitMs > 0) return Math.ceil(waitMs / 1000)
      const pc = pair.count + 1
      const ac = address.count + 1
      put(pairs, pk, { count: pc, until: now + pairDelayMs(r, pc) })
      put(addresses, ak, { count: ac, until: ac >= r.addressMax ? now + r.capMs : now })
      return 0
    },
    async succeeded(username, ip, now) {
      pairs.delete(pairKey(username, ip))
      const ak = addressKey(ip)
      const address = addresses.get(ak)
      if (!address || now >= address.until + r.windowMs) return void addresses.delete(ak)
      address.count -= 1
      if (address.count <= 0) return void addresses.delete(ak)
      // Below the limit again: the lock this very attempt set is lifted (an earlier one would have refused it).
      if (address.count < r.addressMax) address.until = Math.min(address.until, now)
    },
    size: () => pairs.size + addresses.size,
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
