import { metaRedis } from '@mytho/directory'
import type { Logger } from '@mytho/runtime'
import { createLoginThrottle, createRateLimit, type LoginThrottle, type LoginThrottleOptions, type RateLimit } from './throttle.ts'
import { createRedisLoginThrottle, createRedisRateLimit } from './throttle-redis.ts'

/**
 * Unknown, revoked or expired agency keys one client address may present before it is refused for a minute (issue
 * #22): the sign-in throttle's rules with a one-minute window and lock (auth/throttle.ts), counted apart from
 * sign-in failures.
 */
export const AGENCY_KEY_FAILURES = 10
const agencyKeyFailureRules: LoginThrottleOptions = {
  maxFailures: AGENCY_KEY_FAILURES,
  addressMaxFailures: AGENCY_KEY_FAILURES,
  windowMs: 60_000,
  lockoutMs: 60_000,
  firstDelayMs: 60_000,
}

export interface Limits {
  throttle: LoginThrottle
  rateLimit: RateLimit
  /** Bad agency keys per client address (agency-auth.ts), where the others are counted. */
  agencyKeyFailures: LoginThrottle
  /**
   * A rate limit of `perMinute` (an agency key's own rate, issue #22), counted where the others are: the same token
   * bucket, in memory or on Redis, one per rate (callers key it by what they limit, e.g. `agency:ID`).
   */
  rateFor(perMinute: number): RateLimit
  /** Releases the Redis connection, if any. Safe to call twice. */
  close(): Promise<void>
}

/**
 * The sign-in throttle and the request rate limit, where this API node counts them: in memory on one host (a
 * restart forgets them), in the cluster's Redis with REDIS_URL, so guesses spread over the API nodes count
 * together (a guess per node is still a guess). Both share one connection, owned here.
 */
export function openLimitsFromConfig(
  config: { REDIS_URL?: string | undefined },
  options: { throttle: LoginThrottleOptions /** Requests a minute per address; 0 = no limit. */; ratePerMinute: number; logger: Logger },
): Limits {
  const byRate = new Map<number, RateLimit>()
  const cached = (make: (perMinute: number) => RateLimit) => (perMinute: number) => {
    let limit = byRate.get(perMinute)
    if (!limit) byRate.set(perMinute, (limit = make(perMinute)))
    return limit
  }
  if (config.REDIS_URL === undefined)
    return {
      throttle: createLoginThrottle(options.throttle),
      rateLimit: createRateLimit(options.ratePerMinute),
      agencyKeyFailures: createLoginThrottle(agencyKeyFailureRules),
      rateFor: cached((n) => createRateLimit(n)),
      close: async () => {},
    }
  const conn = metaRedis(config.REDIS_URL, { logger: options.logger })
  return {
    throttle: createRedisLoginThrottle(conn.redis, options.throttle),
    rateLimit: createRedisRateLimit(conn.redis, options.ratePerMinute),
    // Its own keys (…ngsi-key-throttle:…): bad keys and failed sign-ins of an address are counted apart.
    agencyKeyFailures: createRedisLoginThrottle(conn.redis, { ...agencyKeyFailureRules, prefix: `${conn.prefix}ngsi-key-` }),
    rateFor: cached((n) => createRedisRateLimit(conn.redis, n)),
    close: conn.release,
  }
}
