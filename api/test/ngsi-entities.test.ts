import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { smartDataModelSchema, type HistorySeries, type NgsiEntityType, type StoredReading } from '@mytho/schema'
import { gaugeReading, startSharing } from './ngsi-harness.ts'

/*
 * Issue #22, done-when: an agency key reads a water gauge as an NGSI-LD entity matching the Smart Data Model
 * schema shipped in packages/schema/ngsi-ld, and its last 24 h as a temporal entity equal to our history route's
 * numbers; queries by type, id, attribute and geometry; an aggregated-only key gets hourly roll-ups only.
 */

const T = Date.UTC(2026, 11, 4, 5, 0, 0) // 12:00 in Mỹ Tho
const MIN = 60_000
const HOUR = 60 * MIN
const GAUGE = 'urn:ngsi-ld:FloodMonitoring:mytho:wl-hydro-station'

/** An NGSI-LD entity in normalized form (CIM 009 §4.5.1, §5.2.4–5.2.6): every attribute a Property, GeoProperty or Relationship. */
const NormalizedEntity = z
  .object({ id: z.string().regex(/^urn:ngsi-ld:[A-Za-z]+:.+/), type: z.string().min(1), '@context': z.string().url().optional() })
  .catchall(
    z.union([
      z.strictObject({ type: z.literal('Property'), value: z.unknown(), observedAt: z.iso.datetime().optional(), unitCode: z.string().optional() }),
      z.strictObject({ type: z.literal('GeoProperty'), value: z.object({ type: z.literal('Point'), coordinates: z.tuple([z.number(), z.number()]) }) }),
      z.strictObject({ type: z.literal('Relationship'), object: z.string().regex(/^urn:ngsi-ld:/) }),
    ]),
  )

/** The shipped model schema, as zod runs it; plus: every attribute we send is one the model names (a typo fails). */
function checkAgainstModel(type: NgsiEntityType, entity: Record<string, unknown>): void {
  const json = smartDataModelSchema(type)
  const r = z.fromJSONSchema(json as Parameters<typeof z.fromJSONSchema>[0]).safeParse(entity)
  expect(r.success, r.success ? '' : z.prettifyError(r.error)).toBe(true)
  expect(Object.keys(entity).filter((k) => !(k in (json['properties'] as object)))).toEqual([])
}

/** A day of a gauge every 20 minutes, rising from 100 cm, plus a few readings older than 24 h. */
function aDayOf(deviceId: string, ward: string, start: number): StoredReading[] {
  const out: StoredReading[] = []
  for (let t = T - 26 * HOUR, i = 0; t < T; t += 20 * MIN, i++) out.push(gaugeReading(deviceId, t, start + i * 0.5, ward))
  return out
}

describe('NGSI-LD entities for an agency key', () => {
  it('reads a water gauge as a FloodMonitoring entity: normalized, key-values (the model schema), JSON-LD', async () => {
    const s = await startSharing({ clock: () => T })
    await s.write([...aDayOf('wl-hydro-station', 'my-tho', 100), ...aDayOf('wl-bao-dinh-mid', 'dao-thanh', 90)])
    const { key } = await s.issueKey({ kinds: ['water_level'], wards: ['my-tho'], access: 'raw' })

    const normal = await s.ngsi<Record<string, unknown>>(key, 'GET', `/entities/${GAUGE}`)
    expect(normal.status).toBe(200)
    expect(normal.headers.get('content-type')).toMatch(/^application\/json/)
    const contextUrl = `${s.ngsiBase}/jsonldContexts/mytho.jsonld`
    expect(normal.headers.get('link')).toBe(`<${contextUrl}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`)
    expect(NormalizedEntity.safeParse(normal.body).success).toBe(true)
    const last = aDayOf('wl-hydro-station', 'my-tho', 100).at(-1)!
    expect(normal.body).toMatchObject({
      id: GAUGE,
      type: 'FloodMonitoring',
      currentLevel: { type: 'Property', value: last.fields['waterLevelCm'], observedAt: new Date(last.ts).toISOString(), unitCode: 'CMT' },
      alertLevel: { type: 'Property', value: 150, unitCode: 'CMT' },
      dangerLevel: { type: 'Property', value: 160, unitCode: 'CMT' },
      location: { type: 'GeoProperty', value: { type: 'Point', coordinates: [106.3645, 10.3515] } },
      areaServed: { type: 'Property', value: 'my-tho' },
      refDevice: { type: 'Relationship', object: 'urn:ngsi-ld:Device:mytho:wl-hydro-station' },
    })

    const kv = await s.ngsi<Record<string, unknown>>(key, 'GET', `/entities/${GAUGE}?options=keyValues`)
    expect(kv.body['currentLevel']).toBe(last.fields['waterLevelCm'])
    checkAgainstModel('FloodMonitoring', kv.body)

    const ld = await s.ngsi<Record<string, unknown>>(key, 'GET', `/entities/${GAUGE}`, undefined, { accept: 'application/ld+json' })
    expect(ld.headers.get('content-type')).toMatch(/^application\/ld\+json/)
    expect(ld.headers.get('link')).toBeNull()
    expect(ld.body['@context']).toBe(contextUrl)
    // The context is served to anyone (a JSON-LD processor fetches it without credentials) and names the model's terms.
    const context = (await (await fetch(contextUrl)).json()) as { '@context': [Record<string, string>, string] }
    expect(context['@context'][0]['currentLevel']).toBe('https://smartdatamodels.org/dataModel.Environment/currentLevel')
    expect(context['@context'][1]).toMatch(/^https:\/\/uri\.etsi\.org\/ngsi-ld\/v1\/ngsi-ld-core-context/)
  })

  it('queries by type, attribute (q), geometry (near, within a box), with limit, offset and count', async () => {
    const s = await startSharing({ clock: () => T })
    await s.write([
      gaugeReading('wl-hydro-station', T - MIN, 152),
      gaugeReading('wl-tourist-wharf', T - MIN, 148),
      gaugeReading('wl-tan-long', T - MIN, 155),
      gaugeReading('wl-bao-dinh-mouth', T - MIN, 120),
    ])
    const { key } = await s.issueKey({ kinds: ['water_level', 'salinity'], wards: ['my-tho'], access: 'raw' })
    const ids = (b: unknown) => (b as { id: string }[]).map((e) => e.id.replace(/^urn:ngsi-ld:\w+:mytho:/, ''))

    const all = await s.ngsi(key, 'GET', '/entities?type=FloodMonitoring&count=true')
    expect(ids(all.body)).toEqual(['wl-bao-dinh-mouth', 'wl-hydro-station', 'wl-tan-long', 'wl-tourist-wharf'])
    expect(all.headers.get('ngsild-results-count')).toBe('4')
    expect(ids((await s.ngsi(key, 'GET', '/entities?type=FloodMonitoring&limit=2&offset=1')).body)).toEqual(['wl-hydro-station', 'wl-tan-long'])
    // Only the key's wards: the canal gauges of Đạo Thạnh are not listed.
    expect(ids((await s.ngsi(key, 'GET', '/entities?type=FloodMonitoring,WaterQualityObserved&q=currentLevel>=150')).body)).toEqual([
      'wl-hydro-station',
      'wl-tan-long',
    ])
    expect(ids((await s.ngsi(key, 'GET', '/entities?q=currentLevel>149;currentLevel<153|currentLevel==120')).body)).toEqual([
      'wl-bao-dinh-mouth',
      'wl-hydro-station',
    ])
    // A ward is an attribute (areaServed) to query on, within the wards the key was given.
    const twoWards = (await s.issueKey({ kinds: ['salinity'], wards: ['my-tho', 'thoi-son'], access: 'raw' })).key
    expect(ids((await s.ngsi(twoWards, 'GET', '/entities?type=WaterQualityObserved')).body)).toHaveLength(3)
    expect(ids((await s.ngsi(twoWards, 'GET', '/entities?type=WaterQualityObserved&q=areaServed=="my-tho"')).body)).toEqual(['sal-lac-hong'])
    // From the hydro station: wl-tourist-wharf ~173 m, wl-bao-dinh-mouth ~201 m, wl-tan-long ~840 m.
    const near = (m: number) => s.ngsi(key, 'GET', `/entities?type=FloodMonitoring&georel=near;maxDistance==${m}&geometry=Point&coordinates=[106.3645,10.3515]`)
    expect(ids((await near(185)).body)).toEqual(['wl-hydro-station', 'wl-tourist-wharf'])
    expect(ids((await near(300)).body)).toEqual(['wl-bao-dinh-mouth', 'wl-hydro-station', 'wl-tourist-wharf'])
    const box = JSON.stringify([
      [
        [106.37, 10.34],
        [106.375, 10.34],
        [106.375, 10.35],
        [106.37, 10.35],
        [106.37, 10.34],
      ],
    ])
    expect(ids((await s.ngsi(key, 'GET', `/entities?georel=within&geometry=Polygon&coordinates=${encodeURIComponent(box)}`)).body)).toEqual(['wl-tan-long'])

    const bad = await s.ngsi<{ type: string; status: number; detail: string }>(key, 'GET', '/entities?q=currentLevel~=1.*')
    expect(bad.status).toBe(400)
    expect(bad.body).toMatchObject({ type: 'https://uri.etsi.org/ngsi-ld/errors/BadRequestData', status: 400 })
    expect(bad.body.detail).toMatch(/^invalid query parameter q: /)
    // idPattern: a regular expression over the ids, run under a time limit (a catastrophic one is refused, not run on).
    expect(ids((await s.ngsi(key, 'GET', `/entities?type=FloodMonitoring&idPattern=${encodeURIComponent(':wl-t[a-z-]+$')}`)).body)).toEqual([
      'wl-tan-long',
      'wl-tourist-wharf',
    ])
    expect((await s.ngsi(key, 'GET', `/entities?idPattern=${encodeURIComponent('([a-z]')}`)).status).toBe(400)
    const redos = await s.ngsi<{ detail: string }>(key, 'GET', `/entities?idPattern=${encodeURIComponent('^(([A-Za-z:-]|[A-Za-z:-])+)+\\d$')}`)
    expect([redos.status, redos.body.detail]).toEqual([400, expect.stringMatching(/^invalid query parameter idPattern: took longer than/)])
    const badGeo = await s.ngsi<{ detail: string }>(key, 'GET', '/entities?georel=near;maxDistance==300&geometry=Point&coordinates=[1]')
    expect([badGeo.status, badGeo.body.detail]).toEqual([400, 'invalid query parameter georel: coordinates: near takes geometry=Point and [lon,lat]'])
  })

  it("gives the last 24 h as a temporal entity equal to GET /api/v1/history's numbers", async () => {
    const s = await startSharing({ clock: () => T })
    await s.write(aDayOf('wl-hydro-station', 'my-tho', 100))
    const { key } = await s.issueKey({ kinds: ['water_level'], wards: ['my-tho'], access: 'raw' })

    const history = await s.call<HistorySeries[]>(s.admin, 'GET', '/history?deviceIds=wl-hydro-station&metric=waterLevelCm')
    const points = history.body[0]!.points
    expect(points.length).toBe(72) // 24 h every 20 minutes

    const range = `timerel=between&timeAt=${new Date(T - 24 * HOUR).toISOString()}&endTimeAt=${new Date(T).toISOString()}`
    const temporal = await s.ngsi<{ id: string; currentLevel: { type: string; value: number; observedAt: string; unitCode: string }[] }>(
      key,
      'GET',
      `/temporal/entities/${GAUGE}?${range}&attrs=currentLevel`,
    )
    expect(temporal.status).toBe(200)
    expect(temporal.body.id).toBe(GAUGE)
    expect(temporal.body.currentLevel.map((i) => [Date.parse(i.observedAt), i.value])).toEqual(points.map((p) => [p.ts, p.mean]))
    expect(new Set(temporal.body.currentLevel.map((i) => `${i.type} ${i.unitCode}`))).toEqual(new Set(['Property CMT']))

    const simplified = await s.ngsi<{ currentLevel: { values: [number, string][] } }>(key, 'GET', `/temporal/entities/${GAUGE}?${range}&options=temporalValues`)
    expect(simplified.body.currentLevel.values.map(([v]) => v)).toEqual(points.map((p) => p.mean))

    const hourly = await s.call<HistorySeries[]>(s.admin, 'GET', '/history?deviceIds=wl-hydro-station&metric=waterLevelCm&window=1h')
    const aggregated = await s.ngsi<{
      currentLevel: { avg: [number, string, string][]; max: [number, string, string][]; totalCount: [number, string, string][] }
    }>(key, 'GET', `/temporal/entities/${GAUGE}?${range}&options=aggregatedValues&aggrMethods=avg,max,totalCount&aggrPeriodDuration=PT1H`)
    const h = hourly.body[0]!.points
    expect(aggregated.body.currentLevel.avg).toEqual(h.map((p) => [p.mean, new Date(p.ts).toISOString(), new Date(p.ts + HOUR).toISOString()]))
    expect(aggregated.body.currentLevel.max.map(([v]) => v)).toEqual(h.map((p) => p.max))
    expect(aggregated.body.currentLevel.totalCount.map(([v]) => v)).toEqual(h.map((p) => p.count))
  })

  it('gives an aggregated-only key hourly roll-ups and never a single reading', async () => {
    const s = await startSharing({ clock: () => T })
    await s.write(aDayOf('wl-hydro-station', 'my-tho', 100))
    const { key } = await s.issueKey({ kinds: ['water_level'], wards: ['my-tho'], access: 'aggregated' })
    const raw = await s.ngsi<{ status: number; detail: string }>(key, 'GET', `/temporal/entities/${GAUGE}`)
    expect([raw.status, raw.body.detail]).toEqual([403, expect.stringMatching(/aggregated values only/)])
    expect((await s.ngsi(key, 'GET', `/temporal/entities/${GAUGE}?options=aggregatedValues&aggrPeriodDuration=PT5M`)).status).toBe(403)
    const hourly = await s.ngsi<{ currentLevel: { avg: [number, string, string][] } }>(
      key,
      'GET',
      `/temporal/entities/${GAUGE}?options=aggregatedValues&aggrMethods=avg&aggrPeriodDuration=PT1H`,
    )
    expect(hourly.status).toBe(200)
    const history = await s.call<HistorySeries[]>(s.admin, 'GET', '/history?deviceIds=wl-hydro-station&metric=waterLevelCm&window=1h')
    expect(hourly.body.currentLevel.avg.map(([v]) => v)).toEqual(history.body[0]!.points.map((p) => p.mean))
    // The entity's current value is the newest hour's mean, stamped with the hour's start.
    const entity = await s.ngsi<{ currentLevel: { value: number; observedAt: string } }>(key, 'GET', `/entities/${GAUGE}`)
    const newest = history.body[0]!.points.at(-1)!
    expect(entity.body.currentLevel).toMatchObject({ value: newest.mean, observedAt: new Date(newest.ts).toISOString() })
    // And it may not subscribe: a notification carries a single reading.
    const sub = await s.ngsi(key, 'POST', '/subscriptions', {
      type: 'Subscription',
      entities: [{ type: 'FloodMonitoring' }],
      notification: { endpoint: { uri: 'http://127.0.0.1:9/n' } },
    })
    expect(sub.status).toBe(403)
  })
})
