import { appendFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { parse } from 'csv-parse/sync'
import { describe, expect, it, onTestFinished } from 'vitest'
import { createLogger, silentLogger } from '@mytho/runtime'
import { loadRegistryFile, LOCAL_UTC_OFFSET_MS, type HistorySeries, type StoredReading } from '@mytho/schema'
import { createSqliteStore } from '@mytho/storage'
import { makeTempDir } from '@mytho/testing'
import { loadApiConfig } from '../src/config.ts'
import { createOpenDataJob } from '../src/open-data-job.ts'
import { startSharing } from './ngsi-harness.ts'

/*
 * Issue #22: with OPEN_DATA_DIR the API writes the open-data files of each local day shortly after its midnight
 * (Asia/Ho_Chi_Minh), catches up the last 7 days on start, never writes a day twice, and serves the folder read-only
 * without auth at /open-data/. The API's clock is the test's: a day rolls over when the test says, without sleeping.
 */

const MIN = 60_000
const HOUR = 60 * MIN
/** Local midnight starting 2026-12-04 (UTC+7), in UTC ms. */
const DEC4 = Date.UTC(2026, 11, 4) - LOCAL_UTC_OFFSET_MS
const DEC5 = DEC4 + 24 * HOUR

/** A path sent as is (fetch would resolve %2e%2e segments before sending). */
function rawGet(base: string, path: string, headers: Record<string, string> = {}) {
  const url = new URL(base)
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, headers, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

const gauge = (ts: number, cm: number): StoredReading => ({
  deviceId: 'wl-hydro-station',
  kind: 'water_level',
  ward: 'my-tho',
  ts,
  tsSource: 'device',
  receivedAt: ts,
  fields: { waterLevelCm: cm },
})

interface Index {
  licence: string
  days: { day: string; files: { name: string; bytes: number; url: string }[] }[]
}

describe('daily open-data job', () => {
  it('writes the day just ended after local midnight, catches up on start, never rewrites a day, and serves the files without auth', async () => {
    const data = makeTempDir('mytho-open-data-')
    onTestFinished(() => data.cleanup())
    // A file beside the folder, where DATA_DIR's meta.sqlite would be: no request may reach it.
    writeFileSync(join(data.path, 'meta.sqlite'), 'SQLite format 3 (stand-in)')
    const out = { path: join(data.path, 'open-data') }
    let now = DEC4 + 23 * HOUR
    const s = await startSharing({ clock: () => now, config: { OPEN_DATA_DIR: out.path } })
    const job = s.api.openData!
    // The start's catch-up: the 7 days before Dec 4 (Dec 4 has not ended).
    await job.check()
    const days = () => readdirSync(out.path).sort()
    expect(days()).toEqual(['2026-11-27', '2026-11-28', '2026-11-29', '2026-11-30', '2026-12-01', '2026-12-02', '2026-12-03'])

    const readings: StoredReading[] = []
    for (let t = DEC4 - HOUR; t < DEC5 + HOUR; t += 10 * MIN) readings.push(gauge(t, 100 + ((t / MIN) % 13)))
    await s.write(readings)

    // Just past midnight the day's last readings may still be on their way: not yet.
    now = DEC5 + 5 * MIN
    expect(await job.check()).toEqual([])
    now = DEC5 + 11 * MIN
    expect(await job.check()).toEqual(['2026-12-04'])
    expect(days()).toHaveLength(8)
    expect(days().some((d) => d.startsWith('.'))).toBe(false)

    // The rows are the store's hourly roll-ups of the local day (the export's own test checks every column).
    const csvPath = join(out.path, '2026-12-04', 'water_level-hourly.csv')
    const rows = parse(readFileSync(csvPath, 'utf8'), { comment: '#', columns: true }) as { device_id: string; mean: string }[]
    const stored = await s.call<HistorySeries[]>(s.admin, 'GET', `/history?deviceIds=wl-hydro-station&metric=waterLevelCm&window=1h&from=${DEC4}&to=${DEC5}`)
    expect(stored.body[0]!.points).toHaveLength(24)
    expect(rows.filter((r) => r.device_id === 'wl-hydro-station').map((r) => Number(r.mean))).toEqual(stored.body[0]!.points.map((p) => p.mean))

    // Never written again: an edit stays, a later check writes nothing. A day missing (removed) is written again.
    appendFileSync(csvPath, '# kept\n')
    rmSync(join(out.path, '2026-12-01'), { recursive: true })
    now += HOUR
    expect(await job.check()).toEqual(['2026-12-01'])
    expect(readFileSync(csvPath, 'utf8').endsWith('# kept\n')).toBe(true)

    // Served without a session or a key.
    const index = await fetch(`${s.url}/open-data/`)
    expect(index.status).toBe(200)
    expect(index.headers.get('cache-control')).toMatch(/^public/)
    const etag = index.headers.get('etag')
    expect(etag).toBeTruthy()
    const body = (await index.json()) as Index
    expect(body.days.map((d) => d.day)).toEqual([...days()].reverse())
    const dec4 = body.days[0]!
    expect(dec4.files.map((f) => f.name)).toContain('water_level-hourly.csv')
    // node:http, not fetch: fetch adds Cache-Control: no-cache to a request with If-None-Match, which asks for the whole answer.
    expect((await rawGet(s.url, '/open-data/', { 'if-none-match': etag! })).status).toBe(304)

    const csv = await fetch(`${s.url}${dec4.files.find((f) => f.name === 'water_level-hourly.csv')!.url}`)
    expect(csv.status).toBe(200)
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8')
    expect(csv.headers.get('access-control-allow-origin')).toBe('*')
    expect(await csv.text()).toBe(readFileSync(csvPath, 'utf8'))
    const fileTag = csv.headers.get('etag')!
    expect((await rawGet(s.url, '/open-data/2026-12-04/water_level-hourly.csv', { 'if-none-match': fileTag })).status).toBe(304)
    expect((await fetch(`${s.url}/open-data/2026-12-04/water_level-places.geojson`)).headers.get('content-type')).toMatch(/^application\/geo\+json/)
    expect((await fetch(`${s.url}/open-data/2026-12-04/README.md`)).headers.get('content-type')).toBe('text/markdown; charset=utf-8')
    expect((await fetch(`${s.url}/open-data/2026-12-04/water_level-hourly.csv`, { method: 'DELETE' })).status).toBe(405)

    // No path out of the folder: meta.sqlite (the agency keys' hashes, the operators) is one level up.
    for (const p of [
      '/open-data/..%2fmeta.sqlite',
      '/open-data/..%2f..%2fmeta.sqlite',
      '/open-data/2026-12-04/..%2f..%2fmeta.sqlite',
      '/open-data/%2e%2e/meta.sqlite',
      '/open-data/2026-12-04/%2e%2e%2f%2e%2e%2fmeta.sqlite',
      '/open-data/..%5cmeta.sqlite',
      '/open-data/2026-12-04/.water_level-hourly.csv.tmp',
    ]) {
      const res = await rawGet(s.url, p)
      expect([p, res.status]).toEqual([p, 404])
      expect(res.body).not.toContain('SQLite format')
    }
  })

  it('lets only one of two writers put a day in place, leaves no temporary folder, and logs a failed day without throwing', async () => {
    const out = makeTempDir('mytho-open-data-')
    onTestFinished(() => out.cleanup())
    const store = createSqliteStore({ path: join(out.path, 'readings.sqlite') })
    onTestFinished(() => store.close())
    await store.init()
    await store.writeReadings([gauge(DEC4 + HOUR, 120)])
    const dir = join(out.path, 'open-data')
    const registry = loadRegistryFile()
    const job = () => createOpenDataJob({ dir, store, devices: () => registry.devices, clock: () => DEC5 + HOUR, logger: silentLogger, catchUpDays: 1 })
    mkdirSync(dir)
    const written = await Promise.all([job().check(), job().check(), job().check()])
    expect(written.flat()).toEqual(['2026-12-04'])
    expect(readdirSync(dir)).toEqual(['2026-12-04'])
    expect(readdirSync(join(dir, '2026-12-04'))).toContain('README.md')

    // A store that fails: the day is logged as not written, and the next check tries it again.
    const lines: string[] = []
    await store.close()
    const failing = createOpenDataJob({
      dir,
      store,
      devices: () => registry.devices,
      clock: () => DEC5 + 25 * HOUR,
      logger: createLogger('error', {}, (l) => lines.push(l)),
      catchUpDays: 1,
    })
    expect(await failing.check()).toEqual([])
    expect(lines.map((l) => JSON.parse(l) as { msg: string; day: string })).toEqual([
      expect.objectContaining({ msg: 'open-data day not written; tried again at the next check', day: '2026-12-05' }),
    ])
    expect(readdirSync(dir)).toEqual(['2026-12-04'])
    await failing.stop()
  })

  it('refuses at start an OPEN_DATA_DIR that is a file, naming the variable', () => {
    const tmp = makeTempDir('mytho-open-data-')
    onTestFinished(() => tmp.cleanup())
    const file = join(tmp.path, 'not-a-folder')
    writeFileSync(file, 'x')
    expect(() => loadApiConfig({ OPEN_DATA_DIR: file })).toThrow(/OPEN_DATA_DIR: expected a folder/)
  })
})
