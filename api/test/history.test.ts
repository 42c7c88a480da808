import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LOCAL_UTC_OFFSET_MS, loadRegistryFile, type HistorySeries, type StoredReading } from '@mytho/schema'
import { createLogger } from '@mytho/runtime'
import { StorageError, type ReadingStore } from '@mytho/storage'
import { startSqliteApi, type SqliteApi } from './sqlite-api.ts'

// 25 Nov 2026 00:00 in Mỹ Tho is 24 Nov 17:00 UTC.
const localMidnight = Date.UTC(2026, 10, 25) - LOCAL_UTC_OFFSET_MS
const hour = 3_600_000
/** A JSON log line of the API; err (on a line logging an error) as the logger serializes it, the other fields read loosely. */
interface LogLine {
  err?: { message: string; stack: string }
  [field: string]: unknown
}
const reading = (deviceId: string, ts: number, cm: number): StoredReading => ({
  deviceId,
  kind: 'water_level',
  ward: 'my-tho',
  ts,
  tsSource: 'device',
  receivedAt: ts,
  fields: { waterLevelCm: cm },
})

describe('history for one or many devices', () => {
  let p: SqliteApi
  let get: SqliteApi['get']

  beforeAll(async () => {
    p = await startSqliteApi('mytho-api-history-', async (s) => {
      await s.writeReadings([
        // 23:30 and 00:30 local: the same UTC day (24 Nov), but two local days.
        reading('wl-hydro-station', localMidnight - hour / 2, 100),
        reading('wl-hydro-station', localMidnight + hour / 2, 150),
        reading('wl-hydro-station', localMidnight + 2 * hour, 170),
        reading('wl-tan-long', localMidnight + hour, 120),
      ])
      return { clock: () => localMidnight + 12 * hour }
    })
    ;({ get } = p)
  })
  afterAll(() => p?.stop())

  it('cuts 1d windows at local midnight (Asia/Ho_Chi_Minh), not UTC', async () => {
    const { body } = await get<HistorySeries>(
      `/devices/wl-hydro-station/history?metric=waterLevelCm&from=${localMidnight - 86_400_000}&to=${localMidnight + 86_400_000}&window=1d`,
    )
    expect(body.points).toEqual([
      { ts: localMidnight - 86_400_000, mean: 100, min: 100, max: 100, count: 1 },
      { ts: localMidnight, mean: 160, min: 150, max: 170, count: 2 },
    ])
  })

  it('answers one series per device, in request order, empty when a device has no data', async () => {
    const { status, body } = await get<HistorySeries[]>(
      `/history?deviceIds=wl-tan-long,wl-hydro-station,wl-tourist-wharf&metric=waterLevelCm&from=${localMidnight}&to=${localMidnight + 86_400_000}&window=1h`,
    )
    expect(status).toBe(200)
    expect(body.map((s: { deviceId: string; points: unknown[] }) => [s.deviceId, s.points.length])).toEqual([
      ['wl-tan-long', 1],
      ['wl-hydro-station', 2],
      ['wl-tourist-wharf', 0],
    ])
    expect(body[1]!.points[1]).toEqual({ ts: localMidnight + 2 * hour, mean: 170, min: 170, max: 170, count: 1 })
  })

  it('defaults to the last 24 hours, raw', async () => {
    const { body } = await get<HistorySeries[]>('/history?deviceIds=wl-hydro-station&metric=waterLevelCm')
    expect(body[0]).toMatchObject({ window: 'raw', points: [{ mean: 100 }, { mean: 150 }, { mean: 170 }] })
  })

  it('names the bad parameter', async () => {
    expect(await get('/history?metric=waterLevelCm')).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^invalid query parameter deviceIds/) },
    })
    expect(await get('/history?deviceIds=,&metric=waterLevelCm')).toMatchObject({
      status: 400,
      body: { error: 'invalid query parameter deviceIds: at least one device id' },
    })
    expect(await get('/history?deviceIds=wl-tan-long,nope&metric=waterLevelCm')).toMatchObject({
      status: 400,
      body: { error: 'invalid query parameter deviceIds: no device nope' },
    })
    expect(await get('/history?deviceIds=wl-tan-long&metric=waterLevelCm&window=2d')).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^invalid query parameter window/) },
    })
    expect(await get(`/history?deviceIds=wl-tan-long&metric=waterLevelCm&from=${localMidnight}&to=${localMidnight}`)).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/parameter from/) },
    })
    const many = Array.from({ length: 101 }, () => 'wl-tan-long').join(',')
    expect(await get(`/history?deviceIds=${many}&metric=waterLevelCm`)).toMatchObject({
      status: 400,
      body: { error: 'invalid query parameter deviceIds: at most 100 device ids' },
    })
  })
})

describe('history refuses what storage cannot answer with a 400, and logs a request in few characters', () => {
  const gauge = 'wl-hydro-station'
  const lines: string[] = []
  let p: SqliteApi
  let store: ReadingStore
  let get: SqliteApi['get']
  /** What the API's store does for a history call; each test says (default: the real SQLite store). */
  let history: ReadingStore['history']

  beforeAll(async () => {
    p = await startSqliteApi('mytho-api-history-limits-', (s) => {
      history = (q) => s.history(q)
      const logger = createLogger('debug', {}, (line) => lines.push(line))
      return { store: { ...s, history: (q) => history(q) }, logger, clock: () => localMidnight }
    })
    ;({ store, get } = p)
  })
  afterAll(() => p?.stop())

  const bothRoutes = (metric: string) => [`/devices/${gauge}/history?metric=${metric}`, `/history?deviceIds=${gauge}&metric=${metric}`]
  const errorLines = () => lines.map((l) => JSON.parse(l) as LogLine).filter((r) => r['level'] === 'error')

  it('answers 400 naming metric for a metric name of 65 characters, on both history routes', async () => {
    for (const path of bothRoutes('a'.repeat(65)))
      expect(await get(path)).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^invalid query parameter metric: .*64/) } })
    // 64 characters is the limit storage keeps, so it is still a question (with no data)
    expect(await get(bothRoutes('a'.repeat(64))[0]!)).toMatchObject({ status: 200, body: { metric: 'a'.repeat(64), points: [] } })
  })

  it('answers 400, not 500, when storage refuses a query as invalid input', async () => {
    // A store stricter than the API's edge: it is asked for a field name it does not accept.
    history = (q) => store.history({ ...q, metric: `${q.metric}_raw` })
    try {
      for (const path of bothRoutes('waterLevelCm'))
        expect(await get(path)).toMatchObject({
          status: 400,
          body: { error: expect.stringMatching(/^invalid request: metric name "waterLevelCm_raw" is not an identifier/) },
        })
    } finally {
      history = (q) => store.history(q)
    }
    expect(errorLines()).toEqual([])
  })

  it('logs nothing long for a request with a 8,000-character metric', async () => {
    lines.length = 0
    const statuses = []
    for (const path of bothRoutes('a'.repeat(8000))) statuses.push((await get(path)).status)
    for (const line of lines) expect(line).not.toContain('a'.repeat(201))
    expect(statuses).toEqual([400, 400])
  })

  it('cuts the long values of a failing request in its log line, and marks how long they were', async () => {
    lines.length = 0
    const ids = loadRegistryFile().devices.map((d) => d.id)
    // A query error that echoes the query (as InfluxDB's do): not the caller's fault, so still a 500.
    const echoed = (q: { metric: string; deviceIds: readonly string[] }) =>
      `influx query failed: error parsing query\n  query: SELECT "${q.metric}" FROM readings WHERE ${q.deviceIds.map((id) => `"deviceId" = '${id}'`).join(' OR ')}`
    history = async (q) => {
      throw new StorageError(echoed(q), { retryable: false })
    }
    try {
      expect(await get(`/history?deviceIds=${ids.join(',')}&metric=waterLevelCm`)).toEqual({ status: 500, body: { error: 'internal error' } })
    } finally {
      history = (q) => store.history(q)
    }
    const full = echoed({ metric: 'waterLevelCm', deviceIds: ids })
    expect(full.length).toBeGreaterThan(1000)
    const [rec, ...more] = errorLines()
    expect(more).toEqual([])
    expect(rec).toMatchObject({ msg: 'unhandled error', method: 'GET', path: '/api/v1/history' })
    expect(rec!['err']!.message).toBe(`${full.slice(0, 200)}… [${full.length} chars]`)
    expect(rec!['err']!.stack).toMatch(/^StorageError: influx query failed/)
    expect(rec!['err']!.stack).not.toContain(full.slice(0, 201))
  })
})
