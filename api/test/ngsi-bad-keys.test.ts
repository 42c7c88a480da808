import { request } from 'node:http'
import { describe, expect, it } from 'vitest'
import { AGENCY_KEY_FAILURES } from '../src/auth/throttle-from-config.ts'
import { startSharing, type Sharing } from './ngsi-harness.ts'

/*
 * Issue #22: an address that presents unknown, revoked or expired agency keys is refused with 429 + Retry-After
 * after AGENCY_KEY_FAILURES of them, before any key is looked up, while an agency's working key from the same address
 * is governed by its own rate only. 127.0.0.0/8 is all loopback on Linux: 127.0.0.2 is a second client address.
 */

/** GET /ngsi-ld/v1/entities with a key, from a given local address. */
function entitiesFrom(s: Sharing, address: string, key: string): Promise<{ status: number; retryAfter: string | undefined }> {
  const url = new URL(`${s.ngsiBase}/entities?type=FloodMonitoring&limit=1`)
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        headers: { authorization: `Bearer ${key}` },
        localAddress: address,
        agent: false,
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }))
      },
    )
    req.on('error', reject)
    req.end()
  })
}

const unknownKey = (i: number) => `mak_${i.toString(16).padStart(16, '0')}_${'A'.repeat(43)}`

describe('NGSI-LD bad keys per address', () => {
  it('refuses an address after a few unknown or revoked keys, with Retry-After, and keeps serving a working key from it', async () => {
    const s = await startSharing()
    const { key } = await s.issueKey({ kinds: ['water_level'], wards: ['my-tho'], access: 'raw', ratePerMinute: 1000 })
    const revoked = await s.issueKey({ kinds: ['water_level'], wards: ['my-tho'] }, 'revoked one')
    expect((await s.call(s.admin, 'POST', `/admin/agency-keys/${revoked.agencyKey.id}/revoke`)).status).toBe(200)

    // The agency's client is at work from this address.
    expect((await entitiesFrom(s, '127.0.0.1', key)).status).toBe(200)

    // Guesses: well-formed unknown keys, a malformed one and a revoked key, each 401 until the limit.
    const bad = [revoked.key, 'not-a-key', ...Array.from({ length: AGENCY_KEY_FAILURES - 2 }, (_, i) => unknownKey(i))]
    expect(bad).toHaveLength(AGENCY_KEY_FAILURES)
    for (const k of bad) expect((await entitiesFrom(s, '127.0.0.1', k)).status).toBe(401)
    // Interleaved working requests neither count nor clear the address's failures.
    expect((await entitiesFrom(s, '127.0.0.1', key)).status).toBe(200)

    const refused = await entitiesFrom(s, '127.0.0.1', unknownKey(99))
    expect(refused.status).toBe(429)
    expect(Number(refused.retryAfter)).toBeGreaterThan(0)
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60)
    // Still refused, a revoked key too: nothing is looked up for this address now.
    expect((await entitiesFrom(s, '127.0.0.1', revoked.key)).status).toBe(429)

    // The working key from the same address is served, as many times as its own rate allows.
    for (let i = 0; i < 3; i++) expect((await entitiesFrom(s, '127.0.0.1', key)).status).toBe(200)
    // Another address is not held up by this one's guesses.
    expect((await entitiesFrom(s, '127.0.0.2', unknownKey(100))).status).toBe(401)
  })
})
