import { metaRedis } from '@mytho/directory'
import type { Logger } from '@mytho/runtime'
import { createLoginThrottle, createRateLimit, type LoginThrottle, type LoginThrottleOptions, type RateLimit } from './throttle.ts'
import { createRedisLoginThrottle, createRedisRateLimit } from './throttle-redis.ts'

export interface Limits {
  throttle: LoginThrottle
  rateLimit: RateLimit
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
  if (config.REDIS_URL === undefined)
    return { throttle: createLoginThrottle(options.throttle), rateLimit: createRateLimit(options.ratePerMinute), close: async () => {} }
  const conn = metaRedis(config.REDIS_URL, { logger: options.logger })
  return {
    throttle: createRedisLoginThrottle(conn.redis, options.throttle),
    rateLimit: createRedisRateLimit(conn.redis, options.ratePerMinute),
    close: conn.release,
  }
}
