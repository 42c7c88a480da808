import type { Redis } from 'ioredis'
import { luaScript, metaRedis, type MetaRedisOptions } from '@mytho/directory'
import { addressKey, pairKey, throttleRules, type LoginThrottle, type LoginThrottleOptions, type RateLimit } from './throttle.ts'

/*
 * The sign-in throttle and the request rate limit of throttle.ts, on the cluster's Redis: an attacker who
 * spreads password guesses over the API nodes is counted once. Same rules as in memory (see throttle.ts), each
 * step one script (atomic: parallel attempts on two nodes cannot both slip under a limit). Times are the API's
 * clock, passed in, as in memory; Redis expires a count once it would be forgotten anyway (its wait + the window).
 *   throttle:pair:LEN:NAME@ADDR   hash count, until (epoch ms the wait ends): one (user name, address) pair
 *   throttle:addr:ADDR            hash count, until: one address (an IPv6 /64) over any names
 *   rate:ADDR                     token bucket: tokens, at
 * There is no key per user name alone (throttle.ts says why).
 */

// KEYS: pair, address. ARGV: now, maxFailures, firstDelayMs, capMs, windowMs, addressMax.
// Returns 0 (let through, counted) or the ms to wait (nothing counted).
const ATTEMPT = luaScript(`
local now = tonumber(ARGV[1])
local maxf, first, cap, window, amax = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local function load(key)
  local v = redis.call('HMGET', key, 'count', 'until')
  local c, u = tonumber(v[1]), tonumber(v[2])
  if c == nil or u == nil or now >= u + window then return 0, now end
  return c, u
end
local pc, pu = load(KEYS[1])
local ac, au = load(KEYS[2])
local wait = math.max(pu, au) - now
if wait > 0 then return wait end
pc = pc + 1
ac = ac + 1
local pd = 0
if pc >= maxf then pd = math.min(cap, first * 2 ^ math.min(pc - maxf, 40)) end
local ad = 0
if ac >= amax then ad = cap end
redis.call('HSET', KEYS[1], 'count', pc, 'until', string.format('%d', now + pd))
redis.call('PEXPIRE', KEYS[1], string.format('%d', pd + window))
redis.call('HSET', KEYS[2], 'count', ac, 'until', string.format('%d', now + ad))
redis.call('PEXPIRE', KEYS[2], string.format('%d', ad + window))
return 0`)

// KEYS: pair, address. ARGV: now, windowMs, addressMax. The pair is forgotten; the address gives the attempt back.
const SUCCEEDED = luaScript(`
redis.call('DEL', KEYS[1])
local now, window, amax = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[2], 'count', 'until')
local c, u = tonumber(v[1]), tonumber(v[2])
if c == nil or u == nil then return 0 end
if now >= u + window or c <= 1 then
  redis.call('DEL', KEYS[2])
  return 0
end
c = c - 1
if c < amax and u > now then u = now end
redis.call('HSET', KEYS[2], 'count', c, 'until', string.format('%d', u))
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
  const r = throttleRules(opts)
  const keys = (username: string, ip: string) => [`${p}throttle:pair:${pairKey(username, ip)}`, `${p}throttle:addr:${addressKey(ip)}`]
  return {
    async attempt(username, ip, now) {
      const waitMs = Number(await ATTEMPT(redis, keys(username, ip), [now, r.maxFailures, r.firstDelayMs, r.capMs, r.windowMs, r.addressMax]))
      return waitMs > 0 ? Math.ceil(waitMs / 1000) : 0
    },
    async succeeded(username, ip, now) {
      await SUCCEEDED(redis, keys(username, ip), [now, r.windowMs, r.addressMax])
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
