import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import { luaScript, metaRedis, type MetaRedisOptions } from '@mytho/broker/meta-redis'
import type { LoginThrottle, LoginThrottleOptions, RateLimit } from './throttle.ts'

/*
 * The sign-in throttle and the request rate limit of throttle.ts, on the cluster's Redis: an attacker who
 * spreads password guesses over the API nodes is counted once. Same rules as in memory, each step one
 * script (atomic: two nodes counting the same name at once cannot both miss the limit). Times are the API's
 * clock, passed in, as in memory; Redis expires what is no longer needed.
 *   throttle:fails:user:NAME / throttle:fails:ip:ADDR   sorted set of failure times (the sliding window)
 *   throttle:lock:user:NAME  / throttle:lock:ip:ADDR    locked-until, epoch ms, expiring with the lockout
 *   rate:ADDR                                           token bucket: tokens, at
 */

const FAIL = luaScript(`
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('ZADD', KEYS[1], now, ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  redis.call('SET', KEYS[2], ARGV[6], 'PX', ARGV[4])
  redis.call('DEL', KEYS[1])
end
return 0`)

const TAKE = luaScript(`
local now = tonumber(ARGV[1])
local per = tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or per
local at = b[2] or ARGV[1]
if now > tonumber(at) then
  tokens = math.min(per, tokens + (now - tonumber(at)) / 60000 * per)
  at = ARGV[1]
end
local wait = 0
if tokens < 1 then wait = math.ceil((1 - tokens) / per * 60) else tokens = tokens - 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', at)
redis.call('PEXPIRE', KEYS[1], 60000)
return wait`)

export function createRedisLoginThrottle(target: Redis | string, opts: LoginThrottleOptions & MetaRedisOptions): LoginThrottle & { close(): Promise<void> } {
  const { redis, prefix: p, release } = metaRedis(target, opts)
  const fails = (key: string) => `${p}throttle:fails:${key}`
  const lock = (key: string) => `${p}throttle:lock:${key}`
  const limitOf = (key: string) => (key.startsWith('ip:') ? opts.maxFailures * 4 : opts.maxFailures)
  const fail = (key: string, now: number) =>
    FAIL(redis, [fails(key), lock(key)], [now, opts.windowMs, limitOf(key), opts.lockoutMs, `${now}-${randomBytes(6).toString('base64url')}`, now + opts.lockoutMs])
  return {
    async retryAfterS(username, ip, now) {
      const until = await redis.mget(lock(`user:${username}`), lock(`ip:${ip}`))
      const latest = Math.max(...until.map((u) => (u === null ? 0 : Number(u))))
      return latest > now ? Math.ceil((latest - now) / 1000) : 0
    },
    async failed(username, ip, now) {
      await Promise.all([fail(`user:${username}`, now), fail(`ip:${ip}`, now)])
    },
    async succeeded(username) {
      await redis.del(fails(`user:${username}`))
    },
    close: release,
  }
}

/** Token bucket per key (client address) on Redis: `perMinute` requests a minute across all the API nodes. */
export function createRedisRateLimit(target: Redis | string, perMinute: number, opts: MetaRedisOptions = {}): RateLimit & { close(): Promise<void> } {
  const { redis, prefix: p, release } = metaRedis(target, opts)
  return {
    take: async (key, now) => (perMinute <= 0 ? 0 : Number(await TAKE(redis, [`${p}rate:${key}`], [now, perMinute]))),
    close: release,
  }
}
