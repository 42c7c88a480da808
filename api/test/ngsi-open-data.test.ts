import { execFile } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { parse } from 'csv-parse/sync'
import { describe, expect, it } from 'vitest'
import { LOCAL_UTC_OFFSET_MS, type DeviceRecord, type HistorySeries, type StoredReading } from '@mytho/schema'
import { OPEN_DATA_CSV_COLUMNS, OPEN_DATA_LICENCE } from '../src/open-data.ts'
import { startSharing } from './ngsi-harness.ts'

/*
 * Issue #22, done-when: the daily export's rows equal the stored hourly aggregates. `npm run export:open-data` runs
 * against the API's DATA_DIR (SQLite and meta.sqlite); a device an admin marked not public is left out.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const DAY = '2026-12-03'
const dayStart = Date.UTC(2026, 11, 3) - LOCAL_UTC_OFFSET_MS
const MIN = 60_000

/** Readings every 7 minutes over the local day and an hour either side (which the export must leave out). */
function readings(deviceId: string, kind: StoredReading['kind'], ward: StoredReading['ward'], fields: (i: number) => Record<string, number>): StoredReading[] {
  const out: StoredReading[] = []
  for (let ts = dayStart - 60 * MIN, i = 0; ts < dayStart + 25 * 60 * MIN; ts += 7 * MIN, i++)
    out.push({ deviceId, kind, ward, ts, tsSource: 'device', receivedAt: ts, fields: fields(i) })
  return out
}

describe('open-data export', () => {
  it('writes per kind the places (GeoJSON) and the hourly CSV whose rows are the store’s hourly aggregates, leaving out devices not public', async () => {
    const s = await startSharing({ clock: () => dayStart + 30 * 60 * MIN })
    await s.write([
      ...readings('wl-hydro-station', 'water_level', 'my-tho', (i) => ({ waterLevelCm: 100 + (i % 17) * 1.3, batteryV: 12.5 })),
      ...readings('wl-tan-long', 'water_level', 'my-tho', (i) => ({ waterLevelCm: 90 + (i % 5) })),
      ...readings('aq-trung-an', 'air_quality', 'trung-an', (i) => ({ pm25UgM3: 20 + (i % 9), humidityPct: 70 })),
    ])
    const hidden = await s.call<DeviceRecord>(s.admin, 'POST', '/admin/devices/wl-tan-long/public', { public: false })
    expect([hidden.status, hidden.body.public]).toEqual([200, false])
    expect((await s.call(await s.signIn('operator'), 'POST', '/admin/devices/wl-hydro-station/public', { public: false })).status).toBe(403)

    const run = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'api/src/export-open-data.ts', DAY], {
      cwd: ROOT,
      env: { ...process.env, DATA_DIR: s.dir, LOG_LEVEL: 'error' },
    })
    const dir = join(s.dir, 'open-data', DAY)
    expect(run.stdout).toContain(dir)
    expect(readdirSync(dir).sort()).toEqual(
      ['README.md', ...['air_quality', 'rain', 'salinity', 'traffic', 'water_level'].flatMap((k) => [`${k}-hourly.csv`, `${k}-places.geojson`])].sort(),
    )

    const csv = readFileSync(join(dir, 'water_level-hourly.csv'), 'utf8')
    expect(csv.split('\n')[0]).toBe(`# Licence: ${OPEN_DATA_LICENCE}`)
    const rows = parse(csv, { comment: '#', columns: true, cast: false }) as Record<(typeof OPEN_DATA_CSV_COLUMNS)[number], string>[]
    expect(Object.keys(rows[0]!)).toEqual([...OPEN_DATA_CSV_COLUMNS])
    // Not public: not one row; battery voltage is the device's housekeeping, not published.
    expect(new Set(rows.map((r) => `${r.device_id} ${r.metric}`))).toEqual(new Set(['wl-hydro-station waterLevelCm']))

    const range = `from=${dayStart}&to=${dayStart + 24 * 60 * MIN}`
    const stored = await s.call<HistorySeries[]>(s.admin, 'GET', `/history?deviceIds=wl-hydro-station&metric=waterLevelCm&window=1h&${range}`)
    const hours = stored.body[0]!.points
    expect(hours).toHaveLength(24)
    expect(rows.map((r) => [Date.parse(r.hour_start_utc), Number(r.mean), Number(r.min), Number(r.max), Number(r.count)])).toEqual(
      hours.map((p) => [p.ts, p.mean, p.min, p.max, p.count]),
    )
    expect(rows[0]).toMatchObject({ ward: 'my-tho', unit: 'cm', hour_start_local: `${DAY}T00:00:00+07:00` })

    const aq = parse(readFileSync(join(dir, 'air_quality-hourly.csv'), 'utf8'), { comment: '#', columns: true }) as { metric: string; mean: string }[]
    const pm = await s.call<HistorySeries[]>(s.admin, 'GET', `/history?deviceIds=aq-trung-an&metric=pm25UgM3&window=1h&${range}`)
    expect(pm.body[0]!.points).toHaveLength(24)
    expect(aq.filter((r) => r.metric === 'pm25UgM3').map((r) => Number(r.mean))).toEqual(pm.body[0]!.points.map((p) => p.mean))

    const places = JSON.parse(readFileSync(join(dir, 'water_level-places.geojson'), 'utf8')) as {
      type: string
      license: string
      features: { id: string; geometry: { coordinates: number[] }; properties: Record<string, unknown> }[]
    }
    expect(places).toMatchObject({ type: 'FeatureCollection', license: OPEN_DATA_LICENCE })
    const ids = places.features.map((f) => f.id)
    expect(ids).toContain('wl-hydro-station')
    expect(ids).not.toContain('wl-tan-long')
    expect(places.features.find((f) => f.id === 'wl-hydro-station')).toMatchObject({
      geometry: { coordinates: [106.3645, 10.3515] },
      properties: { ward: 'my-tho', waterBody: 'river', ngsiLdType: 'FloodMonitoring', ngsiLdId: 'urn:ngsi-ld:FloodMonitoring:mytho:wl-hydro-station' },
    })
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toContain(OPEN_DATA_LICENCE)
  })
})
