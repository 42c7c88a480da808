import { startInfluxd, type Influxd } from '@mytho/testing'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { reading } from './contract.test-suite.ts'
import { createInfluxHttp, type InfluxHttp, type InfluxSeries } from './influx-http.ts'
import { createInfluxStore, type InfluxStoreOptions } from './influx-store.ts'
import { ident } from './line-protocol.ts'

/*
 * InfluxDB 2.x refuses CREATE RETENTION POLICY / CREATE CONTINUOUS QUERY over its v1 API; so does 1.x to a user without
 * admin rights, which is how it is emulated here on a real influxd 1.6: an admin sets up the database and the roll-up
 * policies (as compose's init script makes the 2.x buckets), the ingest's user may read and write, the API's read.
 * The ingest's store then computes the roll-ups itself; they must equal a direct aggregate of the raw points.
 */
const HOUR = 3_600_000
const MIN = 60_000
const DAY = 24 * HOUR
const PASSWORD = { ingest: 'ingest-Secret-pw', api: 'api-Secret-pw', root: 'root-pw' }

let influx: Influxd
let admin: InfluxHttp
beforeAll(async () => {
  influx = await startInfluxd({ authEnabled: true })
  const res = await fetch(`${influx.url}/query`, {
    method: 'POST',
    body: new URLSearchParams({ q: `CREATE USER "root" WITH PASSWORD '${PASSWORD.root}' WITH ALL PRIVILEGES` }),
  })
  expect(res.status).toBe(200)
  admin = createInfluxHttp({ url: influx.url, username: 'root', password: PASSWORD.root })
  await admin.query(`CREATE USER "ingest" WITH PASSWORD '${PASSWORD.ingest}'`)
  await admin.query(`CREATE USER "api" WITH PASSWORD '${PASSWORD.api}'`)
})
afterAll(async () => {
  admin?.close()
  await influx?.stop()
})

let n = 0
/** A database as an admin (compose's init) leaves it: raw policy, and rp_5m/rp_1h unless `rollupPolicies` is false. */
async function database(opts: { rawDuration?: string; rollupPolicies?: boolean } = {}): Promise<string> {
  const db = `city_${++n}`
  await admin.query(`CREATE DATABASE ${ident(db)}`)
  await admin.query(`ALTER RETENTION POLICY "autogen" ON ${ident(db)} DURATION ${opts.rawDuration ?? '1d'} REPLICATION 1 SHARD DURATION 1h`)
  if (opts.rollupPolicies !== false) {
    await admin.query(`CREATE RETENTION POLICY "rp_5m" ON ${ident(db)} DURATION 30d REPLICATION 1 SHARD DURATION 1d`)
    await admin.query(`CREATE RETENTION POLICY "rp_1h" ON ${ident(db)} DURATION INF REPLICATION 1 SHARD DURATION 7d`)
  }
  await admin.query(`GRANT ALL ON ${ident(db)} TO "ingest"`)
  await admin.query(`GRANT READ ON ${ident(db)} TO "api"`)
  onTestFinished(() => admin.query(`DROP DATABASE ${ident(db)}`).then(() => undefined))
  return db
}

/** A store as a service runs it, with a recording logger; closed at the end of the test. */
function open(db: string, who: 'ingest' | 'api', extra: Partial<InfluxStoreOptions> = {}) {
  const warns: string[] = []
  const store = createInfluxStore({
    url: influx.url,
    database: db,
    username: who,
    password: PASSWORD[who],
    role: who === 'ingest' ? 'writer' : 'reader',
    retention: { rawDays: 1, fiveMinuteDays: 30, hourDays: 0 },
    rollupEveryMs: 0,
    rollupGraceMs: 2 * MIN,
    logger: { warn: (msg) => warns.push(msg), info: () => {} },
    ...extra,
  })
  onTestFinished(() => store.close())
  return { store, warns }
}

/** metric aggregates by `measurement|deviceId|time`, from the raw points or from a roll-up policy. */
async function aggregates(
  db: string,
  source: 'raw 5m' | 'raw 1h' | 'rp_5m' | 'rp_1h',
  from = base,
  to = base + 2 * HOUR,
): Promise<Record<string, Record<string, number>>> {
  const kinds = '/^(water_level|rain)$/'
  const where = `WHERE time >= ${from}ms AND time < ${to}ms`
  const q = source.startsWith('raw')
    ? `SELECT sum(*), min(*), max(*), count(*) FROM ${ident(db)}."autogen".${kinds} ${where} GROUP BY time(${source.slice(4)}), * fill(none)`
    : `SELECT * FROM ${ident(db)}.${ident(source)}.${kinds} ${where} GROUP BY *`
  const out: Record<string, Record<string, number>> = {}
  for (const s of (await admin.query(q, db)) as InfluxSeries[])
    for (const row of s.values) {
      const fields: Record<string, number> = {}
      s.columns.forEach((c, i) => {
        const v = row[i]
        if (c !== 'time' && typeof v === 'number' && !/_(receivedAt|seq|tsSource)$/.test(c)) fields[c] = v
      })
      if (Object.keys(fields).length > 0) out[`${s.name}|${s.tags?.['deviceId']}|${row[0]}`] = fields
    }
  return out
}

// Recent real time, so the server's own 1-day raw retention takes the writes.
const base = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR
/** Two devices of two kinds over two hours; values in quarters so sums are exact in any order. */
const batch = [
  ...Array.from({ length: 24 }, (_, i) => reading({ deviceId: 'wl-a1', ts: base + i * 5 * MIN + 30_000, fields: { waterLevelCm: 100 + (i % 7) * 0.25 } })),
  ...Array.from({ length: 12 }, (_, i) =>
    reading({ deviceId: 'rn-b2', kind: 'rain', ts: base + i * 10 * MIN, fields: { rainMm: (i % 5) * 0.5, batteryV: 12 + (i % 3) * 0.25 } }),
  ),
]

describe('roll-ups computed by the ingest when continuous queries are refused', () => {
  it('rolls up closed buckets only, equal to a direct aggregate; a late reading recomputes its bucket; the API reads them past raw retention', async () => {
    const db = await database()
    let clock = base + 30 * MIN
    const { store, warns } = open(db, 'ingest', { now: () => clock })
    await store.init()
    expect(store.status()).toEqual({ backend: 'influxdb', rollups: 'computed', retention: 'server', warnings: [] })
    expect(warns).toEqual([])

    await store.writeReadings(batch)
    await store.flushRollups()
    // At base+30 min with a 2-minute grace: the 5-minute buckets up to base+25 min are closed, no hour is.
    const early = await aggregates(db, 'rp_5m')
    expect(Object.keys(early).length).toBeGreaterThan(0)
    expect(Math.max(...Object.keys(early).map((k) => Number(k.split('|')[2])))).toBe(base + 20 * MIN)
    expect(await aggregates(db, 'rp_1h')).toEqual({})

    clock = base + 2 * HOUR + 5 * MIN
    await store.flushRollups()
    const raw5m = await aggregates(db, 'raw 5m')
    expect(Object.keys(raw5m)).toHaveLength(24 + 12)
    expect(await aggregates(db, 'rp_5m')).toEqual(raw5m)
    expect(await aggregates(db, 'rp_1h')).toEqual(await aggregates(db, 'raw 1h'))

    // A reading an hour late, into a bucket rolled up already.
    const late = reading({ deviceId: 'wl-a1', ts: base + 7 * MIN, fields: { waterLevelCm: 140 } })
    await store.writeReadings([late])
    await store.flushRollups()
    const after = await aggregates(db, 'rp_5m')
    expect(after[`water_level|wl-a1|${base + 5 * MIN}`]).toMatchObject({ count_waterLevelCm: 2, max_waterLevelCm: 140 })
    expect(after).toEqual(await aggregates(db, 'raw 5m'))
    expect(await aggregates(db, 'rp_1h')).toEqual(await aggregates(db, 'raw 1h'))

    // What the raw points say, before the server's retention drops them.
    const q = { deviceIds: ['wl-a1', 'rn-b2'], metric: 'batteryV', from: base - HOUR, to: base + 3 * HOUR }
    const fromRaw = { h: await store.history({ ...q, window: '1h' }), m: await store.history({ ...q, metric: 'waterLevelCm', window: '5m' }) }
    expect(fromRaw.h[1]!.points.map((p) => p.count)).toEqual([6, 6])
    await dropRaw(db)

    // The API, read-only and ten days later: raw retention is past, it reads the roll-ups it found without creating any.
    const api = open(db, 'api', { now: () => base + 10 * DAY })
    await api.store.init()
    expect(api.store.status()).toEqual({ backend: 'influxdb', rollups: 'read', retention: 'server', warnings: [] })
    expect(await api.store.history({ ...q, window: '1h' })).toEqual(fromRaw.h)
    expect(await api.store.history({ ...q, metric: 'waterLevelCm', window: '5m' })).toEqual(fromRaw.m)
    expect(await api.store.history({ ...q, window: 'raw' })).toEqual([
      { deviceId: 'wl-a1', metric: 'batteryV', window: 'raw', points: [] },
      { deviceId: 'rn-b2', metric: 'batteryV', window: 'raw', points: [] },
    ])
  })

  it('after a restart it catches up from the last roll-up point written', async () => {
    const db = await database()
    let clock = base + 40 * MIN
    const first = open(db, 'ingest', { now: () => clock })
    await first.store.init()
    await first.store.writeReadings(batch)
    await first.store.flushRollups()
    await first.store.close() // the buckets still open are forgotten with it

    clock = base + 3 * HOUR
    const second = open(db, 'ingest', { now: () => clock })
    await second.store.init()
    await second.store.flushRollups()
    expect(await aggregates(db, 'rp_5m')).toEqual(await aggregates(db, 'raw 5m'))
    expect(await aggregates(db, 'rp_1h')).toEqual(await aggregates(db, 'raw 1h'))
  })

  it('retention it cannot set and that the server does not have: a warning logged once, naming what was asked, without the password', async () => {
    const db = await database({ rawDuration: 'INF' })
    const { store, warns } = open(db, 'ingest')
    await store.init()
    await store.init()
    const status = store.status()
    expect(status).toMatchObject({ backend: 'influxdb', rollups: 'computed', retention: 'not_set' })
    expect(status.warnings).toHaveLength(1)
    expect(status.warnings[0]).toMatch(
      /retention asked cannot be set by this store \(.*requires admin privilege.*\); autogen: asked 1 d, the server keeps forever/,
    )
    expect(warns).toEqual([`InfluxDB ${db}: ${status.warnings[0]}`])
    expect(JSON.stringify(status)).not.toContain(PASSWORD.ingest)
  })

  it('no roll-up policies and no right to create them: the writer and the reader say so, history reads raw', async () => {
    const db = await database({ rollupPolicies: false })
    const ingest = open(db, 'ingest')
    await ingest.store.init()
    expect(ingest.store.status()).toMatchObject({ rollups: 'none', retention: 'server' })
    expect(ingest.store.status().warnings).toEqual([
      expect.stringMatching(/roll-ups asked, but the server refused continuous queries .* rp_5m and rp_1h are missing/),
    ])
    expect(ingest.warns).toHaveLength(1)
    await ingest.store.writeReadings(batch)
    await ingest.store.flushRollups() // nothing to do, nothing thrown

    const api = open(db, 'api', { now: () => base + 10 * DAY })
    await api.store.init()
    expect(api.store.status()).toMatchObject({ rollups: 'none', retention: 'server' })
    expect(api.warns).toEqual([expect.stringMatching(/rp_5m and rp_1h are missing .*this reader creates nothing/)])
    // Without roll-ups every range reads raw, even one past raw retention by the store's clock.
    const [series] = await api.store.history({ deviceIds: ['wl-a1'], metric: 'waterLevelCm', from: base, to: base + 2 * HOUR, window: '1h' })
    expect(series!.points.map((p) => p.count)).toEqual([12, 12])
  })

  it('a reader before anything is rolled up: pending, history reads raw, and it notices roll-ups later', async () => {
    const db = await database()
    let apiClock = base + 2 * HOUR
    const api = open(db, 'api', { now: () => apiClock, retention: { rawDays: 1 } })
    await api.store.init()
    expect(api.store.status()).toEqual({ backend: 'influxdb', rollups: 'pending', retention: 'server', warnings: [] })

    const ingest = open(db, 'ingest', { now: () => base + 3 * HOUR })
    await ingest.store.init()
    await ingest.store.writeReadings(batch)
    await ingest.store.flushRollups()
    apiClock += 10 * DAY // past its re-detection interval, and past raw retention
    await dropRaw(db)
    const [series] = await api.store.history({ deviceIds: ['wl-a1'], metric: 'waterLevelCm', from: base, to: base + 2 * HOUR, window: '1h' })
    expect(api.store.status().rollups).toBe('read')
    expect(series!.points.map((p) => p.count)).toEqual([12, 12])
  })
})

/** What the server's retention enforcement does to expired raw points: drop the default policy's shards. */
async function dropRaw(db: string): Promise<void> {
  const shards = (await admin.query('SHOW SHARDS')).find((s) => s.name === db)!
  const raw = shards.values.filter((r) => r[shards.columns.indexOf('retention_policy')] === 'autogen')
  expect(raw.length).toBeGreaterThan(0)
  for (const r of raw) await admin.query(`DROP SHARD ${Number(r[0])}`)
}
