import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it, onTestFinished } from 'vitest'
import { waitFor } from '@mytho/testing'
import { startSharing } from './ngsi-harness.ts'

/*
 * Issue #22, done-when: a subscription delivers a notification when a gauge crosses BĐ II (150 cm). Real readings go
 * device → Aedes → ingest → SQLite → the API's live feed → the subscription's delivery queue → a node:http receiver
 * standing in for another agency's endpoint, which fails its first delivery to show the webhooks' retry.
 */

const GAUGE = 'urn:ngsi-ld:FloodMonitoring:mytho:wl-hydro-station'
const MIN = 60_000

interface Received {
  headers: IncomingHttpHeaders
  body: {
    id: string
    type: string
    subscriptionId: string
    notifiedAt: string
    data: Record<string, { type: string; value?: unknown; object?: string }>[]
  }
}

/** Another agency's endpoint: records every POST; answers 503 to the first `failFirst` of them. */
async function receiver(failFirst = 0) {
  const got: Received[] = []
  let attempts = 0
  const server = createServer((req, res) => {
    let text = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => (text += c))
    req.on('end', () => {
      attempts++
      if (attempts <= failFirst) {
        res.statusCode = 503
        res.setHeader('retry-after', '0')
      } else {
        got.push({ headers: req.headers, body: JSON.parse(text) as Received['body'] })
        res.statusCode = 204
      }
      res.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`, got, attempts: () => attempts }
}

describe('NGSI-LD subscriptions', () => {
  it('notify an agency when a gauge crosses BĐ II (q=currentLevel>=150), again only after it fell back, and never outside the scope', async () => {
    const s = await startSharing({ live: true })
    const agency = await receiver(1)
    const { key } = await s.issueKey({ kinds: ['water_level'], wards: ['my-tho'], access: 'raw' })

    const made = await s.ngsi(key, 'POST', '/subscriptions', {
      type: 'Subscription',
      entities: [{ type: 'FloodMonitoring' }],
      watchedAttributes: ['currentLevel'],
      q: 'currentLevel>=150',
      notification: { attributes: ['currentLevel', 'alertLevel'], endpoint: { uri: agency.url, accept: 'application/json' } },
    })
    expect(made.status).toBe(201)
    const location = made.headers.get('location')!
    expect(location).toMatch(/^\/ngsi-ld\/v1\/subscriptions\/urn%3Angsi-ld%3ASubscription%3Amytho%3A/)
    const subscriptionId = decodeURIComponent(location.split('/').at(-1)!)
    const listed = await s.ngsi<{ id: string; q: string }[]>(key, 'GET', '/subscriptions')
    expect(listed.body.map((x) => [x.id, x.q])).toEqual([[subscriptionId, 'currentLevel>=150']])

    const gauge = await s.device('wl-hydro-station')
    const canal = await s.device('wl-bao-dinh-mid') // Đạo Thạnh: outside the key's wards
    const t0 = Date.now() - 40 * MIN
    const levels = [140, 152, 155, 120]
    for (const [i, cm] of levels.entries()) await gauge.publish({ kind: 'water_level', ts: t0 + i * 5 * MIN, waterLevelCm: cm })
    await canal.publish({ kind: 'water_level', ts: t0 + 21 * MIN, waterLevelCm: 170 })
    await gauge.publish({ kind: 'water_level', ts: t0 + 25 * MIN, waterLevelCm: 151 })

    await waitFor(() => agency.got.length >= 2, { what: 'two notifications' })
    expect(agency.got.map((n) => [n.body.data[0]!['id'], n.body.data[0]!['currentLevel']!.value])).toEqual([
      [GAUGE, 152],
      [GAUGE, 151],
    ])
    const first = agency.got[0]!
    expect(first.body).toMatchObject({ type: 'Notification', subscriptionId })
    expect(first.body.id).toMatch(/^urn:ngsi-ld:Notification:/)
    expect(first.body.data[0]).toEqual({
      id: GAUGE,
      type: 'FloodMonitoring',
      alertLevel: { type: 'Property', value: 150, unitCode: 'CMT' },
      currentLevel: { type: 'Property', value: 152, observedAt: new Date(t0 + 5 * MIN).toISOString(), unitCode: 'CMT' },
    })
    expect(first.headers['content-type']).toBe('application/json')
    expect(first.headers['link']).toBe(`<${s.ngsiBase}/jsonldContexts/mytho.jsonld>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`)
    // The endpoint's first answer was 503: the same notification came again (the webhooks' retry).
    expect(agency.attempts()).toBe(3)

    // Deleted, it notifies no more; another key can neither see nor delete it.
    const other = await s.issueKey({ kinds: ['water_level'], wards: ['my-tho'], access: 'raw' })
    expect((await s.ngsi(other.key, 'GET', `/subscriptions/${encodeURIComponent(subscriptionId)}`)).status).toBe(404)
    expect((await s.ngsi(other.key, 'DELETE', `/subscriptions/${encodeURIComponent(subscriptionId)}`)).status).toBe(404)
    expect((await s.ngsi(key, 'DELETE', `/subscriptions/${encodeURIComponent(subscriptionId)}`)).status).toBe(204)
    expect((await s.ngsi(key, 'GET', '/subscriptions')).body).toEqual([])
  })

  it('notify an incident change of a watched gauge, and refuse subscriptions outside the scope or with a bad q', async () => {
    const s = await startSharing({ live: true })
    const agency = await receiver()
    const { key } = await s.issueKey({ kinds: ['water_level'], wards: ['my-tho'], access: 'raw' })
    const sub = (over: Record<string, unknown>) =>
      s.ngsi<{ detail: string }>(key, 'POST', '/subscriptions', {
        type: 'Subscription',
        entities: [{ type: 'FloodMonitoring', id: GAUGE }],
        notification: { format: 'keyValues', endpoint: { uri: agency.url } },
        ...over,
      })
    expect((await sub({ entities: [{ type: 'TrafficFlowObserved' }] })).status).toBe(403)
    expect((await sub({ entities: [{ type: 'FloodMonitoring', id: 'urn:ngsi-ld:FloodMonitoring:mytho:wl-bao-dinh-mid' }] })).status).toBe(403)
    const badQ = await sub({ q: 'currentLevel>=' })
    expect([badQ.status, badQ.body.detail]).toEqual([400, expect.stringMatching(/^invalid body field q: /)])
    expect((await sub({ watchedAttributes: ['pm25'] })).status).toBe(400)
    expect((await sub({ notification: { endpoint: { uri: 'ftp://127.0.0.1/x' } } })).status).toBe(400)
    expect((await sub({ watchedAttributes: ['incident'] })).status).toBe(201)

    // The flood rule raises after 5 minutes at or above BĐ I (raiseHoldS 300): readings 5 minutes apart.
    const gauge = await s.device('wl-hydro-station')
    const t0 = Date.now() - 30 * MIN
    for (const [i, cm] of [145, 152, 158].entries()) await gauge.publish({ kind: 'water_level', ts: t0 + i * 5 * MIN, waterLevelCm: cm })
    const n = await waitFor(() => agency.got.find((x) => x.body.data[0]?.['incident'] !== undefined), { what: 'an incident notification' })
    const entity = n.body.data[0] as unknown as { id: string; currentLevel: number; incident: { rule: string; event: string; state: string; severity: string } }
    expect(entity.id).toBe(GAUGE)
    expect(entity.incident).toMatchObject({ rule: 'flood', event: 'raised', severity: 'warning' })
    expect(typeof entity.currentLevel).toBe('number')
  })
})
