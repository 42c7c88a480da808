import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadRegistryFile, type DeviceView, type HistorySeries, type StoredReading } from '@mytho/schema'
import { silentLogger } from '@mytho/runtime'
import type { ReadingStore } from '@mytho/storage'
import { createApi, MAP_NOT_BUILT } from '../src/api.ts'
import { startSqliteApi, type SqliteApi } from './sqlite-api.ts'

const now = Date.UTC(2026, 10, 25, 5, 0, 0)
const gauge = 'wl-hydro-station'
const level = (ts: number, cm: number): StoredReading => ({
  deviceId: gauge,
  kind: 'water_level',
  ward: 'my-tho',
  ts,
  tsSource: 'device',
  receivedAt: ts,
  fields: { waterLevelCm: cm },
})

describe('REST API over a real SQLite store', () => {
  let p: SqliteApi
  let store: ReadingStore
  let base: string
  let get: SqliteApi['get']
  let tmp: { path: string }

  beforeAll(async () => {
    p = await startSqliteApi('mytho-api-', async (s, dir) => {
      await s.writeReadings([level(now - 120_000, 150), level(now - 60_000, 158), level(now - 1000, 162)])
      await s.writeDeadLetters([
        {
          code: 'not_json',
          message: 'payload is not JSON',
          raw: 'mực nước',
          rawBytes: 12,
          topic: `mytho/v1/devices/${gauge}/readings`,
          deviceId: gauge,
          receivedAt: now - 500,
        },
      ])
      // a stand-in for the built map (web/dist), which this test does not build
      const webRoot = join(dir, 'web')
      mkdirSync(webRoot)
      writeFileSync(join(webRoot, 'index.html'), '<!doctype html><html lang="vi"><title>Mỹ Tho</title></html>')
      return { clock: () => now, webRoot }
    })
    ;({ store, base, get } = p)
    tmp = { path: p.dir }
  })
  afterAll(() => p?.stop())

  it('lists every seed device with its status and last reading', async () => {
    const { status, body } = await get<DeviceView[]>('/devices')
    expect(status).toBe(200)
    expect(body.length).toBe(loadRegistryFile().size)
    const g = body.find((d: { id: string }) => d.id === gauge)
    expect(g).toMatchObject({
      status: 'alarm',
      connection: null,
      lastSeen: now - 1000,
      lastReading: { fields: { waterLevelCm: 162 } },
      nameVi: expect.stringContaining('Mực nước'),
    })
    // 162 cm is above BĐ III (160 cm)
    expect(body.find((d: { id: string }) => d.id === 'tc-cau-quay')!.status).toBe('never_seen')
  })

  it('serves the devices as GeoJSON with lon/lat order', async () => {
    const res = await fetch(`${base}/devices.geojson`)
    expect(res.headers.get('content-type')).toMatch(/application\/geo\+json/)
    const fc = (await res.json()) as { features: { id: string; geometry: { coordinates: [number, number] } }[] }
    const f = fc.features.find((x: { id: string }) => x.id === gauge)
    expect(f!.geometry.coordinates).toEqual([106.3645, 10.3515])
  })

  it('serves history raw and in windows', async () => {
    const raw = await get<HistorySeries>(`/devices/${gauge}/history?metric=waterLevelCm&from=${now - 3_600_000}&to=${now}`)
    expect(raw.body.points.map((p: { mean: number }) => p.mean)).toEqual([150, 158, 162])
    const hourly = await get<HistorySeries>(`/devices/${gauge}/history?metric=waterLevelCm&from=${now - 3_600_000}&to=${now}&window=1h`)
    expect(hourly.body.points).toEqual([{ ts: now - 3_600_000, mean: 470 / 3, min: 150, max: 162, count: 3 }])
  })

  it('answers a bad query with a 400 naming the parameter, and unknown routes with a JSON 404', async () => {
    expect(await get(`/devices/${gauge}/history?metric=waterLevelCm&window=2m`)).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^invalid query parameter window/) },
    })
    expect(await get(`/devices/${gauge}/history?metric=1;DROP`)).toMatchObject({ status: 400, body: { error: expect.stringMatching(/parameter metric/) } })
    expect(await get(`/devices/${gauge}/history?metric=waterLevelCm&from=abc`)).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/parameter from/) },
    })
    expect(await get('/devices/no-such-device')).toMatchObject({ status: 404, body: { error: 'no device no-such-device' } })
    expect(await get('/nothing-here')).toMatchObject({ status: 404, body: { error: 'no route GET /api/v1/nothing-here' } })
  })

  it('lets an operator browse dead letters by device and reason', async () => {
    const { body } = await get(`/dead-letters?deviceId=${gauge}&code=not_json`)
    expect(body).toEqual([expect.objectContaining({ code: 'not_json', raw: 'mực nước', deviceId: gauge })])
    expect((await get('/dead-letters?code=bogus')).status).toBe(400)
    expect((await get('/dead-letters/counts')).body).toEqual({ not_json: 1 })
  })

  it('reports liveness, and readiness (storage reachable, state loaded; no live feed configured here)', async () => {
    expect(await get('/health')).toEqual({ status: 200, body: { status: 'ok', uptimeS: expect.any(Number) } })
    expect(await get('/ready')).toEqual({
      status: 200,
      body: {
        status: 'ready',
        storage: 'ok',
        feed: 'disabled',
        hydrated: true,
        pipeline: null,
        storageStatus: { backend: 'sqlite', rollups: 'built_in', retention: 'built_in', warnings: [] },
      },
    })
  })

  it('serves the map page', async () => {
    const page = await fetch(base.replace('/api/v1', '/'))
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('lang="vi"')
  })

  it('says how to build the map when its folder holds no build', async () => {
    const empty = join(tmp.path, 'no-build')
    mkdirSync(empty)
    const bare = createApi(
      { HTTP_PORT: 0, HTTP_HOST: '127.0.0.1' },
      { store, registry: loadRegistryFile(), logger: silentLogger, clock: () => now, webRoot: empty },
    )
    const { port } = await bare.start()
    try {
      const page = await fetch(`http://127.0.0.1:${port}/`)
      expect(page.status).toBe(503)
      expect(await page.json()).toEqual({ error: MAP_NOT_BUILT })
      expect(MAP_NOT_BUILT).toContain('npm run build:web')
    } finally {
      await bare.stop()
    }
  })

  it('tells the map which tile server to use (OpenStreetMap by default, with its attribution)', async () => {
    expect(await get('/config')).toEqual({
      status: 200,
      body: { tileUrl: 'https://tile.openstreetmap.org/{z}/{x}/{y}.png', tileAttribution: '© OpenStreetMap contributors' },
    })
  })
})
