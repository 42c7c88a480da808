import { describe, expect, it } from 'vitest'
import type { AgencyKeyUse, AgencyKeyView, AuditEntry } from '@mytho/schema'
import { gaugeReading, startSharing } from './ngsi-harness.ts'

/*
 * Issue #22: agency keys. An admin issues a scoped key shown once; the key reads only its kinds and wards, never
 * writes, never reaches an operator route; an operator's session never reaches the sharing routes; every use is
 * counted; revocation holds at once; the key's rate is enforced with 429 and Retry-After.
 */

const T = Date.UTC(2026, 11, 4, 5, 0, 0)
const GAUGE = 'urn:ngsi-ld:FloodMonitoring:mytho:wl-hydro-station'
/** wl-bao-dinh-mid is a water gauge in Đạo Thạnh ward. */
const OTHER_WARD = 'urn:ngsi-ld:FloodMonitoring:mytho:wl-bao-dinh-mid'
/** A traffic counter in Mỹ Tho ward. */
const OTHER_KIND = 'urn:ngsi-ld:TrafficFlowObserved:mytho:tc-hung-vuong-nga-tu'

interface Problem {
  type: string
  title: string
  status: number
  detail: string
}

describe('agency keys', () => {
  it('are issued by admins only (with the CSRF token), shown once, listed without the secret, audited', async () => {
    const s = await startSharing({ clock: () => T })
    const scope = { kinds: ['water_level'], wards: ['my-tho'] }
    const body = { name: 'hydromet', agency: 'Đài KTTV', scope }
    const operator = await s.signIn('operator')
    expect((await s.call(operator, 'POST', '/admin/agency-keys', body)).status).toBe(403)
    expect((await s.call(s.admin, 'POST', '/admin/agency-keys', body, { csrf: false })).status).toBe(403)
    const bad = await s.call<{ error: string }>(s.admin, 'POST', '/admin/agency-keys', { ...body, scope: { ...scope, kinds: ['tides'] } })
    expect([bad.status, bad.body.error]).toEqual([400, expect.stringMatching(/^invalid body field scope\.kinds\.0: /)])

    const created = await s.call<{ key: string; agencyKey: AgencyKeyView }>(s.admin, 'POST', '/admin/agency-keys', body)
    expect(created.status).toBe(201)
    expect(created.body.agencyKey).toMatchObject({
      name: 'hydromet',
      agency: 'Đài KTTV',
      createdBy: 'admin1',
      scope: { ...scope, access: 'aggregated', ratePerMinute: 60 },
    })
    const list = await s.call(s.admin, 'GET', '/admin/agency-keys')
    expect(JSON.stringify(list.body)).not.toContain(created.body.key.slice(21))
    expect((list.body as AgencyKeyView[]).map((k) => k.id)).toEqual([created.body.agencyKey.id])

    const revoked = await s.call<AgencyKeyView>(s.admin, 'POST', `/admin/agency-keys/${created.body.agencyKey.id}/revoke`)
    expect(revoked.body.revokedAt).toBe(T)
    const audit = await s.call<AuditEntry[]>(s.admin, 'GET', '/audit')
    expect(audit.body.filter((e) => e.action.startsWith('agency-key')).map((e) => [e.action, e.actor, e.target])).toEqual([
      ['agency-key-revoke', 'admin1', created.body.agencyKey.id],
      ['agency-key-create', 'admin1', created.body.agencyKey.id],
    ])
  })

  it('read only their kinds and wards, never write, and answer refusals as NGSI-LD ProblemDetails', async () => {
    const s = await startSharing({ clock: () => T })
    await s.write([gaugeReading('wl-hydro-station', T - 60_000, 130), gaugeReading('wl-bao-dinh-mid', T - 60_000, 120, 'dao-thanh')])
    const { key } = await s.issueKey({ kinds: ['water_level'], wards: ['my-tho'], access: 'raw' })
    expect((await s.ngsi(key, 'GET', `/entities/${GAUGE}`)).status).toBe(200)

    const ward = await s.ngsi<Problem>(key, 'GET', `/entities/${OTHER_WARD}`)
    expect(ward.status).toBe(403)
    expect(ward.headers.get('content-type')).toMatch(/^application\/json/)
    expect(ward.body).toMatchObject({ type: 'about:blank', title: 'Forbidden', status: 403 })
    expect(ward.body.detail).toMatch(/outside this key's scope/)
    expect((await s.ngsi(key, 'GET', `/temporal/entities/${OTHER_WARD}`)).status).toBe(403)
    expect((await s.ngsi(key, 'GET', `/entities/${OTHER_KIND}`)).status).toBe(403)
    expect((await s.ngsi(key, 'GET', '/entities?type=TrafficFlowObserved')).status).toBe(403)
    // Listing never shows what is outside the scope.
    const listed = (await s.ngsi<{ id: string }[]>(key, 'GET', '/entities')).body.map((e) => e.id)
    expect(listed).toContain(GAUGE)
    expect(listed.filter((id) => !id.startsWith('urn:ngsi-ld:FloodMonitoring:'))).toEqual([])
    expect(listed).not.toContain(OTHER_WARD)

    for (const [method, path] of [
      ['POST', '/entities'],
      ['PATCH', `/entities/${GAUGE}/attrs`],
      ['DELETE', `/entities/${GAUGE}`],
      ['POST', '/entityOperations/upsert'],
      ['POST', '/temporal/entities'],
    ] as const) {
      const w = await s.ngsi<Problem>(key, method, path, { id: GAUGE, type: 'FloodMonitoring' })
      expect([method, path, w.status, w.body.detail]).toEqual([method, path, 403, expect.stringMatching(/^agency keys are read-only/)])
    }
    expect((await s.ngsi<Problem>(key, 'GET', '/entities/not-an-urn')).body).toMatchObject({
      status: 400,
      type: 'https://uri.etsi.org/ngsi-ld/errors/BadRequestData',
    })
    expect((await s.ngsi<Problem>(key, 'GET', '/entities/urn:ngsi-ld:FloodMonitoring:mytho:no-such-gauge')).body).toMatchObject({
      status: 404,
      type: 'https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound',
    })
    // The type must be the device's model: a gauge is not a WeatherObserved.
    expect((await s.ngsi(key, 'GET', '/entities/urn:ngsi-ld:WeatherObserved:mytho:wl-hydro-station')).status).toBe(404)
  })

  it('never mix with operator sessions: a session is refused on the sharing routes, a key on the operator routes', async () => {
    const s = await startSharing({ clock: () => T })
    const { key } = await s.issueKey({ kinds: ['water_level'], wards: ['my-tho'], access: 'raw' })
    const viewer = await s.signIn('viewer')
    // The operator's session cookie, alone or beside a valid key.
    for (const headers of [{ cookie: viewer.cookie }, { cookie: s.admin.cookie, authorization: `Bearer ${key}` }]) {
      const res = await s.ngsi<Problem>(undefined, 'GET', '/entities', undefined, headers)
      expect([res.status, res.body.detail]).toEqual([403, expect.stringMatching(/^operator sessions do not reach the sharing interface/)])
    }
    expect((await s.ngsi(undefined, 'GET', '/entities')).status).toBe(401)
    expect((await s.ngsi(undefined, 'GET', '/entities')).headers.get('www-authenticate')).toMatch(/^Bearer/)
    expect((await s.ngsi(`${key.slice(0, -2)}xx`, 'GET', '/entities')).status).toBe(401)
    // NGSI-LD brokers behind FIWARE's Keyrock take the token in X-Auth-Token: so do we.
    expect((await s.ngsi(undefined, 'GET', `/entities/${GAUGE}`, undefined, { 'x-auth-token': key })).status).toBe(200)

    for (const [method, path] of [
      ['GET', '/api/v1/devices'],
      ['GET', '/api/v1/history?deviceIds=wl-hydro-station&metric=waterLevelCm'],
      ['GET', '/api/v1/admin/agency-keys'],
      ['POST', '/api/v1/admin/agency-keys'],
    ] as const) {
      for (const headers of [
        { authorization: `Bearer ${key}` },
        { 'x-auth-token': key },
        { authorization: `Bearer ${key}`, cookie: s.admin.cookie, 'x-csrf-token': s.admin.csrf },
      ]) {
        const res = await fetch(`${s.url}${path}`, { method, headers })
        expect([path, res.status, ((await res.json()) as { error: string }).error]).toEqual([
          path,
          403,
          'agency keys read the sharing interface (/ngsi-ld/v1) only',
        ])
      }
    }
  })

  it('count every use, stop at once when revoked, and hold the key to its rate with 429 and Retry-After', async () => {
    const s = await startSharing({ clock: () => T })
    const { key, agencyKey } = await s.issueKey({ kinds: ['water_level'], wards: ['my-tho'], access: 'raw', ratePerMinute: 3 })
    for (let i = 0; i < 3; i++) expect((await s.ngsi(key, 'GET', `/entities/${GAUGE}`)).status).toBe(200)
    const limited = await s.ngsi<Problem>(key, 'GET', `/entities/${GAUGE}`)
    expect(limited.status).toBe(429)
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(limited.body.detail).toMatch(/^this key may make 3 requests a minute/)

    // Another key has its own bucket.
    const other = await s.issueKey({ kinds: ['water_level'], wards: ['my-tho'], access: 'raw' })
    expect((await s.ngsi(other.key, 'GET', `/entities/${GAUGE}`)).status).toBe(200)

    const uses = await s.call<AgencyKeyUse[]>(s.admin, 'GET', `/admin/agency-keys/${agencyKey.id}/uses`)
    expect(uses.body.map((u) => [u.method, u.path, u.status])).toEqual([
      ['GET', `/ngsi-ld/v1/entities/${GAUGE}`, 429],
      ...Array.from({ length: 3 }, () => ['GET', `/ngsi-ld/v1/entities/${GAUGE}`, 200]),
    ])
    const listed = (await s.call<AgencyKeyView[]>(s.admin, 'GET', '/admin/agency-keys')).body.find((k) => k.id === agencyKey.id)
    expect([listed?.useCount, listed?.lastUsedAt]).toEqual([4, T])

    expect((await s.call(s.admin, 'POST', `/admin/agency-keys/${other.agencyKey.id}/revoke`)).status).toBe(200)
    const after = await s.ngsi<Problem>(other.key, 'GET', `/entities/${GAUGE}`)
    expect([after.status, after.body.detail]).toEqual([401, 'the agency key is unknown, revoked or expired'])
    expect((await s.call(s.admin, 'POST', '/admin/agency-keys/0123456789abcdef/revoke')).status).toBe(404)
  })
})
