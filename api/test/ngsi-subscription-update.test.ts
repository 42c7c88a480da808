import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it, onTestFinished } from 'vitest'
import { waitFor } from '@mytho/testing'
import { startSharing } from './ngsi-harness.ts'

/*
 * Issue #22, subscriptions per CIM 009 beyond create and delete: PATCH (a merge, checked as a new one), expiresAt,
 * throttling, isActive and idPattern. Real readings go device → Aedes → ingest → SQLite → the API's live feed → the
 * notifier → a node:http receiver; the API's clock is the test's, moved to pass an expiry or a throttling window.
 */

const GAUGE = 'urn:ngsi-ld:FloodMonitoring:mytho:wl-hydro-station'
const TAN_LONG = 'urn:ngsi-ld:FloodMonitoring:mytho:wl-tan-long'
const MIN = 60_000

interface Notification {
  subscriptionId: string
  data: { id: string; currentLevel?: { value: number } }[]
}

/** Another agency's endpoint: every notification it got, per subscription id, in arrival order. */
async function receiver() {
  const got = new Map<string, Notification[]>()
  const server = createServer((req, res) => {
    let text = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => (text += c))
    req.on('end', () => {
      const n = JSON.parse(text) as Notification
      got.set(n.subscriptionId, [...(got.get(n.subscriptionId) ?? []), n])
      res.statusCode = 204
      res.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const of = (id: string) => got.get(id) ?? []
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`,
    of,
    /** [entity id, currentLevel] of each notification of a subscription. */
    values: (id: string) => of(id).map((n) => [n.data[0]!.id, n.data[0]!.currentLevel?.value]),
  }
}

const idOf = (location: string | null) => decodeURIComponent(location!.split('/').at(-1)!)
const path = (id: string) => `/subscriptions/${encodeURIComponent(id)}`

describe('NGSI-LD subscription updates', () => {
  it('PATCH merges the given members, is checked as a new subscription against the key, and finds no other key’s subscription', async () => {
    let now = Date.now()
    const s = await startSharing({ clock: () => now })
    const { key } = await s.issueKey({ kinds: ['water_level'], wards: ['my-tho'], access: 'raw' })
    const other = await s.issueKey({ kinds: ['water_level', 'traffic'], wards: ['my-tho'], access: 'raw' })
    const base = {
      type: 'Subscription',
      entities: [{ type: 'FloodMonitoring' }],
      watchedAttributes: ['currentLevel'],
      q: 'currentLevel>=150',
      notification: { attributes: ['currentLevel'], endpoint: { uri: 'http://127.0.0.1:9/notify', accept: 'application/json' } },
    }
    const pastCreate = await s.ngsi<{ detail: string }>(key, 'POST', '/subscriptions', { ...base, expiresAt: new Date(now - MIN).toISOString() })
    expect([pastCreate.status, pastCreate.body.detail]).toEqual([400, expect.stringMatching(/^invalid body field expiresAt: /)])
    const made = await s.ngsi(key, 'POST', '/subscriptions', { ...base, throttling: 5 })
    expect(made.status).toBe(201)
    const id = idOf(made.headers.get('location'))
    const patch = (body: unknown, who = key) => s.ngsi<{ detail: string }>(who, 'PATCH', path(id), body)

    // Another key's subscription is not there for it, whatever it sends.
    expect((await patch({ isActive: false }, other.key)).status).toBe(404)
    expect((await patch({ isActive: false }, other.key)).body.detail).toBe(`no subscription ${id}`)
    expect((await s.ngsi(key, 'PATCH', path('urn:ngsi-ld:Subscription:mytho:none'), { isActive: false })).status).toBe(404)

    // The same checks as POST, on the merged subscription.
    const badQ = await patch({ q: 'currentLevel>=' })
    expect([badQ.status, badQ.body.detail]).toEqual([400, expect.stringMatching(/^invalid body field q: /)])
    expect((await patch({ entities: [{ type: 'TrafficFlowObserved' }] })).status).toBe(403)
    expect((await patch({ entities: [{ type: 'FloodMonitoring', id: 'urn:ngsi-ld:FloodMonitoring:mytho:wl-bao-dinh-mid' }] })).status).toBe(403)
    expect((await patch({ watchedAttributes: ['pm25'] })).status).toBe(400)
    expect((await patch({ notification: { endpoint: { uri: 'ftp://127.0.0.1/x' } } })).status).toBe(400)
    const pastPatch = await patch({ expiresAt: new Date(now - 1).toISOString() })
    expect([pastPatch.status, pastPatch.body.detail]).toEqual([400, expect.stringMatching(/^invalid body field expiresAt: /)])
    expect((await patch({ throttling: -1 })).status).toBe(400)
    expect((await patch({})).status).toBe(400)
    // A regular expression that backtracks without end is refused, not run on (ngsi-id-pattern.ts).
    const redos = await patch({ entities: [{ type: 'FloodMonitoring', idPattern: '^(([A-Za-z:-]|[A-Za-z:-])+)+\\d$' }] })
    expect([redos.status, redos.body.detail]).toEqual([400, expect.stringMatching(/^invalid body field entities\.0\.idPattern: took longer than/)])
    expect((await patch({ entities: [{ type: 'FloodMonitoring', idPattern: '([a-z]' }] })).status).toBe(400)
    // Nothing refused above changed it.
    type Sub = { q?: string; throttling?: number; isActive: boolean; status: string; notification: { format: string; endpoint: { uri: string } } }
    expect((await s.ngsi<Sub>(key, 'GET', path(id))).body).toMatchObject({ q: 'currentLevel>=150', throttling: 5, status: 'active' })

    const expiresAt = new Date(now + 60 * MIN).toISOString()
    expect((await patch({ notification: { format: 'keyValues' }, throttling: 60, q: null, expiresAt, isActive: false })).status).toBe(204)
    const after = (await s.ngsi<Sub & Record<string, unknown>>(key, 'GET', path(id))).body
    expect(after).toMatchObject({
      id,
      watchedAttributes: ['currentLevel'],
      throttling: 60,
      expiresAt,
      isActive: false,
      status: 'paused',
      notification: { format: 'keyValues', attributes: ['currentLevel'], endpoint: { uri: 'http://127.0.0.1:9/notify', accept: 'application/json' } },
    })
    expect(after).not.toHaveProperty('q')
    expect((await patch({ isActive: true })).status).toBe(204)
    expect((await s.ngsi<Sub>(key, 'GET', path(id))).body.status).toBe('active')
    now += 61 * MIN
    expect((await s.ngsi<Sub[]>(key, 'GET', '/subscriptions')).body.map((x) => x.status)).toEqual(['expired'])
    expect((await s.ngsi(other.key, 'GET', '/subscriptions')).body).toEqual([])
  })

  it('paused ones wait, expired ones stop, throttled ones drop what comes inside the window, idPattern picks the entities', async () => {
    let now = Date.now()
    const s = await startSharing({ live: true, clock: () => now })
    const agency = await receiver()
    const { key } = await s.issueKey({ kinds: ['water_level'], wards: ['my-tho'], access: 'raw' })
    const subscribe = async (over: Record<string, unknown>) => {
      const res = await s.ngsi(key, 'POST', '/subscriptions', {
        type: 'Subscription',
        entities: [{ type: 'FloodMonitoring', id: GAUGE }],
        watchedAttributes: ['currentLevel'],
        notification: { attributes: ['currentLevel'], endpoint: { uri: agency.url } },
        ...over,
      })
      expect(res.status).toBe(201)
      return idOf(res.headers.get('location'))
    }
    const control = await subscribe({})
    const throttled = await subscribe({ throttling: 3600 })
    const paused = await subscribe({ isActive: false })
    const expiring = await subscribe({ expiresAt: new Date(now + 10 * MIN).toISOString() })
    const pattern = await subscribe({ entities: [{ type: 'FloodMonitoring', idPattern: 'tan-l[a-z]+g$' }] })
    expect((await s.ngsi<{ status: string }>(key, 'GET', path(paused))).body.status).toBe('paused')

    const gauge = await s.device('wl-hydro-station')
    const tanLong = await s.device('wl-tan-long')
    const t0 = Date.now() - 30 * MIN
    await gauge.publish({ kind: 'water_level', ts: t0, waterLevelCm: 140 })
    await tanLong.publish({ kind: 'water_level', ts: t0, waterLevelCm: 90 })
    await waitFor(
      () => agency.of(control).length === 1 && agency.of(throttled).length === 1 && agency.of(expiring).length === 1 && agency.of(pattern).length === 1,
      {
        what: 'the first reading notified',
      },
    )
    // The pattern's queue would have carried the gauge's reading first: it never matched.
    expect(agency.values(pattern)).toEqual([[TAN_LONG, 90]])

    // Past its expiresAt: shown expired, notifies no more. The paused one resumes.
    now += 20 * MIN
    expect((await s.ngsi<{ status: string }>(key, 'GET', path(expiring))).body.status).toBe('expired')
    expect((await s.ngsi(key, 'PATCH', path(paused), { isActive: true })).status).toBe(204)
    await gauge.publish({ kind: 'water_level', ts: t0 + 5 * MIN, waterLevelCm: 141 })
    await waitFor(() => agency.of(control).length === 2 && agency.of(paused).length === 1, { what: 'the second reading notified' })

    // Two hours on: out of the throttling window, the next reading goes through.
    now += 120 * MIN
    await gauge.publish({ kind: 'water_level', ts: t0 + 10 * MIN, waterLevelCm: 143 })
    await waitFor(() => agency.of(throttled).length === 2 && agency.of(paused).length === 2, { what: 'the third reading notified' })

    expect(agency.values(control)).toEqual([
      [GAUGE, 140],
      [GAUGE, 141],
      [GAUGE, 143],
    ])
    // 141 came inside the hour after 140: dropped, not delivered late.
    expect(agency.values(throttled)).toEqual([
      [GAUGE, 140],
      [GAUGE, 143],
    ])
    // Paused while 140 came: nothing of it was kept for later.
    expect(agency.values(paused)).toEqual([
      [GAUGE, 141],
      [GAUGE, 143],
    ])
    expect(agency.values(expiring)).toEqual([[GAUGE, 140]])
    expect(agency.values(pattern)).toEqual([[TAN_LONG, 90]])
  })
})
