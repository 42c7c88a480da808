import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { silentLogger } from '@mytho/runtime'
import { startRedisServer, type RedisServer } from '@mytho/testing'
import { AGENCY_KEY_FAILURES, openLimitsFromConfig } from './throttle-from-config.ts'

/*
 * The bad-agency-key count per address (issue #22) where a cluster keeps it: on Redis, so guesses spread over the API
 * nodes count together, and apart from the same address's failed sign-ins. A real redis-server.
 */

let server: RedisServer
beforeAll(async () => {
  server = await startRedisServer()
})
afterAll(() => server?.stop())

const node = () => {
  const limits = openLimitsFromConfig(
    { REDIS_URL: server.url },
    { throttle: { maxFailures: 5, windowMs: 15 * 60_000, lockoutMs: 15 * 60_000 }, ratePerMinute: 0, logger: silentLogger },
  )
  onTestFinished(() => limits.close())
  return limits
}

describe('bad agency keys per address, on Redis', () => {
  it('counts over two API nodes, locks the address for at most a minute, and leaves its sign-ins alone', async () => {
    const [a, b] = [node(), node()]
    const now = Date.now()
    const ip = `10.${now % 250}.0.1`
    for (let i = 0; i < AGENCY_KEY_FAILURES; i++) expect(await (i % 2 ? a : b).agencyKeyFailures.attempt('agency-key', ip, now + i)).toBe(0)
    const wait = await a.agencyKeyFailures.attempt('agency-key', ip, now + AGENCY_KEY_FAILURES)
    expect(wait).toBeGreaterThan(0)
    expect(wait).toBeLessThanOrEqual(60)
    expect(await b.agencyKeyFailures.attempt('agency-key', ip, now + AGENCY_KEY_FAILURES)).toBeGreaterThan(0)
    // A minute and a bit later the address may try again.
    expect(await b.agencyKeyFailures.attempt('agency-key', ip, now + 62_000)).toBe(0)
    // The same address's sign-in is not held up by its bad keys, nor another address by this one.
    expect(await a.throttle.attempt('admin', ip, now)).toBe(0)
    expect(await a.agencyKeyFailures.attempt('agency-key', '10.255.0.2', now)).toBe(0)
  })
})
