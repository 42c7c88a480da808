import { describe, expect, it } from 'vitest'
import { addressKey, createLoginThrottle, createRateLimit } from './throttle.ts'
import { runThrottleContract } from './throttle.test-suite.ts'

runThrottleContract('in memory', async () => ({ throttle: (o) => createLoginThrottle(o), rateLimit: (n) => createRateLimit(n) }))

describe('login throttle in memory', () => {
  const T0 = Date.UTC(2026, 10, 26, 1)

  it('keeps bounded memory under a spray of names and addresses, and the spraying address stays counted', async () => {
    const t = createLoginThrottle({ maxFailures: 5, windowMs: 15 * 60_000, lockoutMs: 15 * 60_000, maxKeys: 1_000 })
    for (let i = 0; i < 20_000; i++) await t.attempt(`name-${i}`, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, T0)
    expect(t.size()).toBeLessThanOrEqual(2_000)
    const waits: number[] = []
    for (let i = 0; i < 5_000; i++) waits.push(await t.attempt(`n${i}`, '192.0.2.1', T0))
    expect(waits.filter((w) => w === 0)).toHaveLength(20)
    expect(waits.at(-1)).toBe(900)
    expect(t.size()).toBeLessThanOrEqual(2_000)
  })

  it('addressKey: IPv4 as is, IPv4-mapped IPv6 as IPv4, other IPv6 by its /64', () => {
    expect(addressKey('10.0.0.1')).toBe('10.0.0.1')
    expect(addressKey('::ffff:10.0.0.1')).toBe('10.0.0.1')
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64')
    expect(addressKey('2001:DB8:0:0:1:2:3:4')).toBe('2001:db8:0:0::/64')
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
    expect(addressKey('::1')).toBe('0:0:0:0::/64')
    expect(addressKey('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64')
    expect(addressKey('unknown')).toBe('unknown')
  })
})
