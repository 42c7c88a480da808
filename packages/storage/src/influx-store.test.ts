import { freePort, startInfluxd, type Influxd } from '@mytho/testing'
import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http'
import { createServer as createTcpServer, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { reading, runStoreContract } from './contract.test-suite.ts'
import { createInfluxHttp, type InfluxHttp } from './influx-http.ts'
import { createInfluxStore, type InfluxStoreOptions } from './influx-store.ts'
import { ident } from './line-protocol.ts'
import { StorageError } from './port.ts'

// One real influxd for this file; every test gets its own database.
let influxd: Influxd
let admin: InfluxHttp
beforeAll(async () => {
  influxd = await startInfluxd()
  admin = createInfluxHttp({ url: influxd.url })
})
afterAll(async () => {
  admin?.close()
  await influxd?.stop()
})

let n = 0
/** A new, empty database with its store; the database is dropped at the end of the test. */
async function freshStore(extra: Partial<InfluxStoreOptions> = {}) {
  const database = `mytho_test_${++n}`
  const store = createInfluxStore({ url: influxd.url, database, ...extra })
  const cleanup = async () => {
    await store.close()
    await admin.query(`DROP DATABASE ${ident(database)}`)
  }
  return { store, database, cleanup }
}

runStoreContract('InfluxDB 1.x', freshStore)

describe('InfluxDB adapter', () => {
  async function open(extra: Partial<InfluxStoreOptions> = {}) {
    const s = await freshStore(extra)
    onTestFinished(s.cleanup)
    await s.store.init()
    return s
  }

  it('init() sets raw retention on the default policy and creates rp_5m, rp_1h with their continuous queries; again is fine', async () => {
    const { store, database } = await open({ retention: { rawDays: 1, fiveMinuteDays: 730, hourDays: 0 } })
    await store.init()
    const policies = await admin.query(`SHOW RETENTION POLICIES ON ${ident(database)}`)
    expect(policies[0]!.values.map((r) => [r[0], r[1], r[4]])).toEqual([
      ['autogen', '24h0m0s', true],
      ['rp_5m', '17520h0m0s', false],
      ['rp_1h', '0s', false],
    ])
    const cqs = (await admin.query('SHOW CONTINUOUS QUERIES')).find((s) => s.name === database)
    expect(cqs?.values.map((r) => r[0])).toEqual(['cq_5m', 'cq_1h'])
    expect(String(cqs?.values[1]?.[1])).toMatch(/RESAMPLE FOR 2h BEGIN .* INTO .*rp_1h.:MEASUREMENT .*GROUP BY time\(1h\), \*/)
    expect(String(cqs?.values[0]?.[1])).toMatch(
      /RESAMPLE FOR 1h BEGIN SELECT sum\(\*\), min\(\*\), max\(\*\), count\(\*\) INTO .*rp_5m.:MEASUREMENT .*GROUP BY time\(5m\), \*/,
    )
  })

  it('history past raw retention reads the roll-ups: it still answers once the raw points are deleted', async () => {
    const base = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000
    const { store, database } = await open({ retention: { rawDays: 1 }, now: () => base + 10 * 86_400_000 })
    await store.writeReadings([reading({ ts: base, fields: { waterLevelCm: 4 } }), reading({ ts: base + 60_000, fields: { waterLevelCm: 6 } })])
    await store.rollUp(base, base + 3_600_000)
    // What the server's retention enforcement does: drop the default policy's expired shards (DELETE would hit every policy).
    const shards = (await admin.query('SHOW SHARDS')).find((s) => s.name === database)!
    const raw = shards.values.filter((r) => r[shards.columns.indexOf('retention_policy')] === 'autogen')
    expect(raw.length).toBeGreaterThan(0)
    for (const r of raw) await admin.query(`DROP SHARD ${Number(r[0])}`)
    expect((await store.history({ deviceIds: ['wl-tien-01'], metric: 'waterLevelCm', from: base, to: base + 3_600_000, window: 'raw' }))[0]!.points).toEqual([])
    const [series] = await store.history({ deviceIds: ['wl-tien-01'], metric: 'waterLevelCm', from: base, to: base + 3_600_000, window: '1h' })
    expect(series!.points).toEqual([{ ts: base, mean: 5, min: 4, max: 6, count: 2 }])
  })

  it('float fields keep their exact value, whatever JavaScript prints for them', async () => {
    const { store } = await open()
    const values = [1e-7, 1.5e21, -0.5, 0.1 + 0.2, 123456789.123456, 0]
    await store.writeReadings(values.map((v, i) => reading({ deviceId: `wl-${i}x`, fields: { waterLevelCm: v } })))
    const got = await store.latest()
    expect(got.map((r) => r.fields['waterLevelCm'])).toEqual(values)
  })

  it('splits a large batch into several /write requests', async () => {
    const { store } = await open({ maxLinesPerWrite: 3 })
    await store.writeReadings(Array.from({ length: 10 }, (_, i) => reading({ deviceId: 'wl-a1', ts: reading().ts + i * 1_000 })))
    const [series] = await store.history({ deviceIds: ['wl-a1'], metric: 'waterLevelCm', from: 0, to: 4_000_000_000_000, window: '1h' })
    expect(series!.points.map((p) => p.count)).toEqual([10])
  })

  it('a field type conflict (400) is not retryable and carries the server text', async () => {
    const { store, database } = await open()
    const r = reading()
    // Another writer made waterLevelCm a string field in this shard; our float cannot be written next to it.
    await admin.write(database, `water_level,deviceId=${r.deviceId},kind=water_level,ward=my-tho waterLevelCm="high" ${r.ts - 1}`, 'ms')
    const err = await store.writeReadings([r]).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StorageError)
    expect(err).toMatchObject({ retryable: false, message: expect.stringMatching(/HTTP 400: .*field type conflict/) })
  })

  it('unparsable line protocol (400) is not retryable', async () => {
    const { database } = await open()
    await expect(admin.write(database, 'water_level value', 'ms')).rejects.toMatchObject({ retryable: false, message: expect.stringMatching(/HTTP 400/) })
  })

  it('writing to a database that does not exist (404) is retryable: init() or an operator can fix it, and the batch is kept', async () => {
    const { store } = await freshStore()
    onTestFinished(() => store.close())
    await expect(store.writeReadings([reading()])).rejects.toMatchObject({ retryable: true, message: expect.stringMatching(/HTTP 404: database not found/) })
  })

  it('nothing listening on the port: retryable', async () => {
    const store = createInfluxStore({ url: `http://127.0.0.1:${await freePort()}`, database: 'x' })
    onTestFinished(() => store.close())
    const err = await store.writeReadings([reading()]).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StorageError)
    expect(err).toMatchObject({ retryable: true, message: expect.stringMatching(/ECONNREFUSED/) })
  })

  it('a server that accepts and never answers: retryable after timeoutMs, socket closed', async () => {
    const sockets = new Set<Socket>()
    const silent = createTcpServer((s) => {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.resume() // read (and drop) the request, so the client's hang-up is noticed
    })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    onTestFinished(() => new Promise<void>((resolve) => silent.close(() => resolve())))
    const { port } = silent.address() as { port: number }
    const store = createInfluxStore({ url: `http://127.0.0.1:${port}`, database: 'x', timeoutMs: 200 })
    onTestFinished(() => store.close())
    await expect(store.writeReadings([reading()])).rejects.toMatchObject({
      name: 'StorageError',
      retryable: true,
      message: expect.stringMatching(/timed out after 200 ms/),
    })
    await expect.poll(() => sockets.size).toBe(0)
  })

  it('influxd stopped mid-run: writes fail retryable; after it is back the data is all there', async () => {
    const { store } = await open()
    await store.writeReadings([reading({ ts: reading().ts })])
    await influxd.pause()
    try {
      await expect(store.writeReadings([reading({ ts: reading().ts + 1_000 })])).rejects.toMatchObject({ name: 'StorageError', retryable: true })
      await expect(store.latest()).rejects.toMatchObject({ retryable: true })
    } finally {
      await influxd.resume()
    }
    await store.writeReadings([reading({ ts: reading().ts + 1_000 })])
    const [series] = await store.history({ deviceIds: ['wl-tien-01'], metric: 'waterLevelCm', from: 0, to: 4_000_000_000_000, window: 'raw' })
    expect(series!.points.map((p) => p.ts)).toEqual([reading().ts, reading().ts + 1_000])
  })

  it('a token store works against 1.x with auth off (the header is ignored there)', async () => {
    const { store } = await open({ token: 'ignored-by-1.x' })
    await store.writeReadings([reading()])
    expect(await store.latest()).toEqual([reading()])
  })

  it('sends the token as `Authorization: Token …` and a 1.x user as u/p, on the wire', async () => {
    // A bare HTTP listener that records what arrives: it checks the request bytes, not storage behaviour.
    const seen: { url: string; headers: IncomingHttpHeaders }[] = []
    const recorder = createHttpServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers })
      req.resume()
      req.on('end', () => res.writeHead(204).end())
    })
    await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve))
    onTestFinished(() => new Promise<void>((resolve) => recorder.close(() => resolve())))
    const url = `http://127.0.0.1:${(recorder.address() as { port: number }).port}`

    const withToken = createInfluxStore({ url, database: 'mytho', token: 'tok en' })
    const withUser = createInfluxStore({ url, database: 'mytho', username: 'ingest', password: 'p&ss' })
    onTestFinished(() => Promise.all([withToken.close(), withUser.close()]).then(() => {}))
    await withToken.writeReadings([reading()])
    await withUser.writeReadings([reading()])

    expect(seen[0]!.headers['authorization']).toBe('Token tok en')
    expect(seen[0]!.url).toBe('/write?db=mytho&precision=ms')
    expect(seen[1]!.headers['authorization']).toBeUndefined()
    expect(new URL(seen[1]!.url, url).searchParams.get('u')).toBe('ingest')
    expect(new URL(seen[1]!.url, url).searchParams.get('p')).toBe('p&ss')
  })

  it("windows computed from raw points (few per window) equal InfluxDB's own aggregates, as do the dense ranges it leaves to the server", async () => {
    const { store, database } = await open()
    const day = Date.UTC(2026, 11, 4, 17) // 00:00 on 5 Dec, UTC+7
    const rows = []
    // Sparse: a gauge every 7 minutes for a day, with a battery; dense: 30 readings a minute for two hours.
    for (let t = day; t < day + 86_400_000; t += 420_000)
      rows.push(reading({ deviceId: 'wl-sparse', ts: t, fields: { waterLevelCm: 100 + ((t / 420_000) % 37) * 0.5, batteryV: 12.1 } }))
    for (let t = day; t < day + 7_200_000; t += 2_000)
      rows.push(reading({ deviceId: 'wl-dense', ts: t, fields: { waterLevelCm: 80 + ((t / 2_000) % 11), batteryV: 12.4 } }))
    // A device that changed kind: its battery in two measurements.
    rows.push(reading({ deviceId: 'rn-moved', kind: 'water_level', ts: day + 65_000, fields: { waterLevelCm: 90, batteryV: 11.5 } }))
    rows.push(reading({ deviceId: 'rn-moved', kind: 'rain', ts: day + 70_000, fields: { rainMm: 0.2, batteryV: 12.5 } }))
    await store.writeReadings(rows)
    const server = async (measurements: string, id: string, from: number, to: number, group: string, metric: string) => {
      const [s] = await admin.query(
        `SELECT mean(${ident(metric)}), min(${ident(metric)}), max(${ident(metric)}), count(${ident(metric)}) FROM ${measurements} WHERE "deviceId" = '${id}' AND time >= ${from}ms AND time < ${to}ms GROUP BY time(${group}) fill(none)`,
        database,
        'ms',
      )
      return (s?.values ?? []).map(([ts, mean, min, max, count]) => ({ ts, mean, min, max, count }))
    }
    const cases = [
      // from and to off the window edges, so the first and last windows are partial.
      { id: 'wl-sparse', metric: 'waterLevelCm', window: '1m', group: '60000ms', from: day + 31_000, to: day + 86_400_000 - 9_000 },
      { id: 'wl-sparse', metric: 'waterLevelCm', window: '1h', group: '3600000ms', from: day, to: day + 86_400_000 },
      { id: 'wl-sparse', metric: 'batteryV', window: '1d', group: '86400000ms, -25200000ms', from: day - 86_400_000, to: day + 2 * 86_400_000 },
      // One local day's window, started before `from`: nine points, read raw.
      { id: 'wl-sparse', metric: 'waterLevelCm', window: '1d', group: '86400000ms, -25200000ms', from: day + 3_600_000, to: day + 7_200_000 },
      { id: 'wl-dense', metric: 'waterLevelCm', window: '1m', group: '60000ms', from: day + 1_000, to: day + 7_200_000 },
      { id: 'wl-dense', metric: 'waterLevelCm', window: '5m', group: '300000ms', from: day, to: day + 7_200_000 },
      { id: 'wl-dense', metric: 'waterLevelCm', window: '1h', group: '3600000ms', from: day, to: day + 7_200_000 },
    ] as const
    for (const c of cases) {
      const [series] = await store.history({ deviceIds: [c.id], metric: c.metric, from: c.from, to: c.to, window: c.window })
      const expected = await server('"water_level"', c.id, c.from, c.to, c.group, c.metric)
      expect(expected.length, `${c.id} ${c.window}`).toBeGreaterThan(0)
      expect(series!.points, `${c.id} ${c.window}`).toEqual(expected)
    }
    const [moved] = await store.history({ deviceIds: ['rn-moved'], metric: 'batteryV', from: day, to: day + 3_600_000, window: '1m' })
    expect(moved!.points).toEqual([{ ts: day + 60_000, mean: 12, min: 11.5, max: 12.5, count: 2 }])
    const [none] = await store.history({ deviceIds: ['wl-none'], metric: 'waterLevelCm', from: day, to: day + 86_400_000, window: '1m' })
    expect(none!.points).toEqual([])
  })
})
