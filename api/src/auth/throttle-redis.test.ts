import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { startRedisServer, type RedisServer } from '@mytho/testing'
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
  it('counts failures spread over two nodes together, and a lockout on one holds on the other', async () => {
    const b = backend()
    const opts = { maxFailures: 4, windowMs: 60_000, lockoutMs: 60_000 }
    const [a, c] = [b.throttle(opts), b.throttle(opts)]
    const now = Date.now()
    // Concurrent failures from both nodes: the script counts each once.
    await Promise.all([a.failed('op1', '10.0.0.1', now), c.failed('op1', '10.0.0.2', now), a.failed('op1', '10.0.0.3', now)])
    expect(await c.retryAfterS('op1', '10.0.0.4', now)).toBe(0)
    await c.failed('op1', '10.0.0.4', now + 1)
    expect(await a.retryAfterS('op1', '10.0.0.5', now + 1)).toBe(60)
    const [ra, rc] = [b.rateLimit(2), b.rateLimit(2)]
    expect([await ra.take('10.0.0.9', now), await rc.take('10.0.0.9', now), await ra.take('10.0.0.9', now)]).toEqual([0, 0, 30])
  })
})
