import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { Redis } from 'ioredis'
import { startRedisServer, waitFor, type RedisServer } from '@mytho/testing'
import type { LoginThrottleOptions } from './throttle.ts'
import { createRedisLoginThrottle, createRedisRateLimit } from './throttle-redis.ts'
import { runThrottleContract } from './throttle.test-suite.ts'

let server: RedisServer
beforeAll(async () => {
  server = await startRedisServer()
})
afterAll(() => server?.stop())

let n = 0
const backend = () => {
  const prefix = `test${++n}:meta:`
  const opened: { close(): Promise<void> }[] = []
  onTestFinished(async () => {
    for (const o of opened) await o.close()
  })
  const keep = <T extends { close(): Promise<void> }>(x: T): T => (opened.push(x), x)
  return {
    throttle: (o: LoginThrottleOptions) => keep(createRedisLoginThrottle(server.url, { ...o, prefix })),
    rateLimit: (perMinute: number) => keep(createRedisRateLimit(server.url, perMinute, { prefix })),
  }
}

runThrottleContract('Redis', async () => backend())

describe('login throttle on Redis', () => {
  it('counts attempts spread over two nodes together, parallel ones included; a wait set on one holds on the other', async () => {
    const b = backend()
    const opts = { maxFailures: 4, windowMs: 60_000, lockoutMs: 60_000 }
    const [a, c] = [b.throttle(opts), b.throttle(opts)]
    const now = Date.now()
    // Parallel attempts of one pair on both nodes: the script counts each once, and lets exactly maxFailures through.
    const waits = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : c).attempt('op1', '10.0.0.1', now)))
    expect(waits.filter((w) => w === 0)).toHaveLength(4)
    expect(await c.attempt('op1', '10.0.0.1', now)).toBe(1)
    expect(await a.attempt('op1', '10.0.0.1', now)).toBe(1)
    // Another address for the name is not held up, on either node.
    expect(await a.attempt('op1', '10.0.0.2', now)).toBe(0)
    await a.succeeded('op1', '10.0.0.2', now)
    // An address over its cap (4 × 4 failures, over names, on both nodes) is locked on both.
    for (let i = 0; i < 16; i++) expect(await (i % 2 === 0 ? a : c).attempt(`name-${i}`, '10.0.0.3', now)).toBe(0)
    expect([await a.attempt('x', '10.0.0.3', now), await c.attempt('y', '10.0.0.3', now)]).toEqual([60, 60])
    const [ra, rc] = [b.rateLimit(2), b.rateLimit(2)]
    expect([await ra.take('10.0.0.9', now), await rc.take('10.0.0.9', now), await ra.take('10.0.0.9', now)]).toEqual([0, 0, 30])
  })

  it('keys expire once forgotten: nothing is left behind a spray of names', async () => {
    const b = backend()
    const t = b.throttle({ maxFailures: 3, windowMs: 200, lockoutMs: 1_000 })
    const now = Date.now()
    for (let i = 0; i < 50; i++) await t.attempt(`name-${i}`, `10.0.${i}.1`, now)
    const redis = new Redis(server.url)
    onTestFinished(() => void redis.disconnect())
    const pattern = `test${n}:meta:throttle:*`
    expect((await redis.keys(pattern)).length).toBe(100)
    // Every key has a TTL of the window (no wait was set): Redis drops them without a sweep.
    const ttls = await Promise.all((await redis.keys(pattern)).map((k) => redis.pttl(k)))
    expect(ttls.every((ms) => ms > 0 && ms <= 200)).toBe(true)
    await waitFor(async () => (await redis.keys(pattern)).length === 0, { what: 'the throttle keys to expire' })
  })
})
