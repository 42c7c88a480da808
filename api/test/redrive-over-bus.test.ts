import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import {
  loadRegistryFile,
  partitionOf,
  readingsTopic,
  REDRIVE_ANSWER_TOPIC,
  REDRIVE_ORDER_TOPIC,
  type RedriveResult,
  type RedriveStatus,
  type Rejection,
} from '@mytho/schema'
import { createInfluxStore, type ReadingStore } from '@mytho/storage'
import { startInfluxd, startInfluxWithoutDelete, startRedisServer, waitFor, type Influxd } from '@mytho/testing'
import { startSecuredApi } from './auth-harness.ts'
import { gauge, redrivePlatform } from './redrive-harness.ts'

/*
 * Re-drive where the API may not write (issue #19: compose gives the API a read-only InfluxDB token) and the server may
 * not DELETE (InfluxDB 2.x/3.x serve no DELETE over the v1 API). On a real influxd 1.6.7 with authentication: an admin
 * makes the database (as compose's init makes the bucket), the ingest's user may read and write, the API's may read.
 * 1.6.7 lets a non-admin user with write rights DELETE, so a server without DELETE is a thin proxy in front of it that
 * answers a DELETE statement 501 Not Implemented and passes everything else through (startInfluxWithoutDelete).
 */
const PASSWORD = { ingest: 'ingest-Secret-pw', api: 'api-Secret-pw', root: 'root-pw' }
let influx: Influxd
let noDelete: Awaited<ReturnType<typeof startInfluxWithoutDelete>>
const adminQuery = async (q: string, db?: string) => {
  const res = await fetch(`${influx.url}/query`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`root:${PASSWORD.root}`).toString('base64')}` },
    body: new URLSearchParams({ q, ...(db ? { db } : {}) }),
  })
  expect(res.status).toBe(200)
  return (await res.json()) as { results: { series?: { columns: string[]; values: unknown[][] }[]; error?: string }[] }
}

beforeAll(async () => {
  influx = await startInfluxd({ authEnabled: true })
  const res = await fetch(`${influx.url}/query`, {
    method: 'POST',
    body: new URLSearchParams({ q: `CREATE USER "root" WITH PASSWORD '${PASSWORD.root}' WITH ALL PRIVILEGES` }),
  })
  expect(res.status).toBe(200)
  await adminQuery(`CREATE USER "ingest" WITH PASSWORD '${PASSWORD.ingest}'`)
  await adminQuery(`CREATE USER "api" WITH PASSWORD '${PASSWORD.api}'`)
  noDelete = await startInfluxWithoutDelete(influx.url)
})
afterAll(async () => {
  await noDelete?.stop()
  await influx?.stop()
})

let n = 0
async function database(): Promise<string> {
  const db = `city_${++n}`
  await adminQuery(`CREATE DATABASE "${db}"`)
  // The roll-up policies compose's init makes, so the ingest computes the roll-ups and says nothing more.
  await adminQuery(`CREATE RETENTION POLICY "rp_5m" ON "${db}" DURATION 30d REPLICATION 1 SHARD DURATION 1d`)
  await adminQuery(`CREATE RETENTION POLICY "rp_1h" ON "${db}" DURATION INF REPLICATION 1 SHARD DURATION 7d`)
  await adminQuery(`GRANT ALL ON "${db}" TO "ingest"`)
  await adminQuery(`GRANT READ ON "${db}" TO "api"`)
  return db
}

const influxStore = (url: string, db: string, who: 'ingest' | 'api'): ReadingStore =>
  createInfluxStore({ url, database: db, username: who, password: PASSWORD[who], role: who === 'ingest' ? 'writer' : 'reader', rollupEveryMs: 0 })

/** dead_letter points as the server holds them: all, and those with a tombstone. */
async function points(db: string): Promise<{ all: number; tombstoned: number }> {
  const r = await adminQuery(`SELECT count("message") AS "all", count("redrivenAt") AS "t" FROM "dead_letter"`, db)
  const row = r.results[0]?.series?.[0]?.values[0] ?? []
  return { all: (row[1] as number | undefined) ?? 0, tombstoned: (row[2] as number | undefined) ?? 0 }
}

describe('re-drive on InfluxDB: the ingest writes, the API only reads', () => {
  for (const server of ['1.x, DELETE allowed', '2.x-like, no DELETE'] as const)
    it(`stores the readings once and the letters disappear (${server})`, async () => {
      const db = await database()
      const url = server === '1.x, DELETE allowed' ? influx.url : noDelete.url
      const before = noDelete.refused.length
      const { api, apiStore, unknownDevice, provision } = await redrivePlatform({
        ingestStore: () => influxStore(url, db, 'ingest'),
        apiStore: () => influxStore(url, db, 'api'),
      })
      const operator = await api.signIn('operator')
      const device = await unknownDevice(gauge.id)
      const t0 = Date.now() - 60_000
      // One message per reading, each taken in its own ms: an InfluxDB letter id names its (ms, reason, device) slot.
      for (const [i, level] of [120.5, 121, 'cao'].entries()) {
        await device.publishAsync(readingsTopic(gauge.id), JSON.stringify({ kind: 'water_level', ts: t0 + i * 1000, waterLevelCm: level }), { qos: 1 })
        const stamped = Date.now() // the broker stamped it before its PUBACK
        await waitFor(() => Date.now() > stamped, { what: 'the next ms' })
      }
      const status = () => api.call<RedriveStatus>(operator, 'GET', `/dead-letters/redrive?deviceId=${gauge.id}`).then((r) => r.body)
      await waitFor(async () => (await status()).pending === 3, { what: 'three unknown_device letters, read through the API' })
      await provision(gauge)

      const first = await api.call<RedriveResult>(operator, 'POST', '/dead-letters/redrive', { deviceId: gauge.id })
      expect(first.status).toBe(200)
      expect(first.body).toMatchObject({ redriven: 2, stored: 2, stillRejected: [{ reason: 'invalid_reading', id: expect.any(String) }] })
      // read with the API's read-only credential
      const history = await apiStore.history({ deviceIds: [gauge.id], metric: 'waterLevelCm', from: t0 - 1, to: t0 + 10_000, window: 'raw' })
      expect(history[0]!.points.map((p) => [p.ts, p.mean])).toEqual([
        [t0, 120.5],
        [t0 + 1000, 121],
      ])
      // gone from the list, the counts, the hourly buckets and the page's pending count
      const left = await api.call<Rejection[]>(operator, 'GET', `/dead-letters?deviceId=${gauge.id}`)
      expect(left.body.map((l) => l.id)).toEqual([first.body.stillRejected[0]!.id])
      expect((await api.call(operator, 'GET', `/dead-letters/counts?deviceId=${gauge.id}`)).body).toEqual({ unknown_device: 1 })
      const now = Date.now()
      const buckets = await api.call<{ count: number }[]>(operator, 'GET', `/dead-letters/counts?from=${now - 3_600_000}&to=${now + 1}&bucket=hour`)
      expect(buckets.body.reduce((k, b) => k + b.count, 0)).toBe(1)
      expect((await status()).pending).toBe(1)

      if (server === '1.x, DELETE allowed') {
        expect(await points(db)).toEqual({ all: 1, tombstoned: 0 })
        expect(noDelete.refused.length).toBe(before)
      } else {
        // kept on the server, each marked; the first DELETE was refused and the store stopped asking
        expect(await points(db)).toEqual({ all: 3, tombstoned: 2 })
        expect(noDelete.refused.length).toBe(before + 1)
      }

      const second = await api.call<RedriveResult>(operator, 'POST', '/dead-letters/redrive', { deviceId: gauge.id })
      expect(second.body).toMatchObject({ redriven: 0, stored: 0, stillRejected: [{ reason: 'invalid_reading' }] })
      expect((apiStore as ReadingStore & { writesTried: string[] }).writesTried).toEqual([])
    })
})

describe('re-drive over the bus', () => {
  it('refuses a device that publishes an order or an answer, or subscribes to either; only the API’s order is done', async () => {
    const { api, ingest, unknownDevice, provision } = await redrivePlatform()
    const operator = await api.signIn('operator')
    const device = await unknownDevice(gauge.id)
    const t0 = Date.now() - 60_000
    await device.publishAsync(readingsTopic(gauge.id), JSON.stringify({ kind: 'water_level', ts: t0, waterLevelCm: 120.5 }), { qos: 1 })
    const status = () => api.call<RedriveStatus>(operator, 'GET', `/dead-letters/redrive?deviceId=${gauge.id}`).then((r) => r.body)
    await waitFor(async () => (await status()).pending === 1, { what: 'one unknown_device letter' })
    await provision(gauge)

    // a device may not subscribe to the answers or the orders (SUBACK 0x80)
    const refused = await device.subscribeAsync([REDRIVE_ANSWER_TOPIC, REDRIVE_ORDER_TOPIC], { qos: 0 }).then(
      () => undefined,
      (err: { packet?: { granted?: number[] } }) => err.packet?.granted,
    )
    expect(refused).toEqual([128, 128])
    // nor publish either: MQTT 3.1.1 cannot refuse one PUBLISH, so the broker closes the connection
    for (const [topic, payload] of [
      [REDRIVE_ORDER_TOPIC, { orderId: 'forged-order-1', deviceId: gauge.id, expiresAt: Date.now() + 60_000 }],
      [REDRIVE_ANSWER_TOPIC, { orderId: 'forged-order-2', ok: true, result: { redriven: 9, stored: 9, stillRejected: [] } }],
    ] as const) {
      const c = await unknownDevice(gauge.id)
      const closed = new Promise<void>((resolve) => c.once('close', () => resolve()))
      c.options.reconnectPeriod = 0
      c.publish(topic, JSON.stringify(payload), { qos: 0 })
      await closed
    }
    expect(ingest.redrives.orders).toBe(0)
    expect((await status()).pending).toBe(1)

    const done = await api.call<RedriveResult>(operator, 'POST', '/dead-letters/redrive', { deviceId: gauge.id })
    expect(done.status).toBe(200)
    expect(done.body).toEqual({ redriven: 1, stored: 1, stillRejected: [] })
    expect(ingest.redrives.orders).toBe(1)
  })

  it('answers 504 naming the ingest when it does not answer, and 503 when the API has no broker link; neither is audited', async () => {
    const { api, ingest, unknownDevice, provision } = await redrivePlatform({ api: { REDRIVE_TIMEOUT_MS: 300 } })
    const admin = await api.signIn('admin')
    const operator = await api.signIn('operator')
    const device = await unknownDevice(gauge.id)
    await device.publishAsync(readingsTopic(gauge.id), JSON.stringify({ kind: 'water_level', ts: Date.now() - 1000, waterLevelCm: 99 }), { qos: 1 })
    await waitFor(async () => (await api.call<RedriveStatus>(operator, 'GET', `/dead-letters/redrive?deviceId=${gauge.id}`)).body.pending === 1, {
      what: 'one letter',
    })
    await provision(gauge)
    await ingest.stop()
    const late = await api.call<{ error: string }>(operator, 'POST', '/dead-letters/redrive', { deviceId: gauge.id })
    expect(late.status).toBe(504)
    expect(late.body.error).toMatch(/the ingest did not answer the re-drive within 0\.3 s/)

    // an API without MQTT_URL cannot ask at all
    const alone = await startSecuredApi({})
    const seeded = loadRegistryFile().devices[0]!.id
    const op = await alone.signIn('operator')
    const noLink = await alone.call<{ error: string }>(op, 'POST', '/dead-letters/redrive', { deviceId: seeded })
    expect(noLink.status).toBe(503)
    expect(noLink.body.error).toMatch(/no link to the MQTT broker/)

    expect((await api.call<unknown[]>(admin, 'GET', '/audit?action=dead-letter-redrive')).body).toEqual([])
  })

  it('with two ingest workers sharing the stream, the one owning the device’s partition alone re-drives', async () => {
    const redis = await startRedisServer()
    onTestFinished(() => redis.stop())
    const { api, ingests, unknownDevice, provision } = await redrivePlatform({ cluster: { workers: 2, redisUrl: redis.url } })
    const owned = () => ingests.map((w) => w.partitions!.owned().slice().sort())
    await waitFor(() => JSON.stringify(owned().flat().sort()) === '[0,1]' && owned().every((o) => o.length === 1), {
      timeoutMs: 20_000,
      what: 'each worker to own one of the two partitions',
    })
    const operator = await api.signIn('operator')
    const device = await unknownDevice(gauge.id)
    const t0 = Date.now() - 60_000
    await device.publishAsync(readingsTopic(gauge.id), JSON.stringify({ kind: 'water_level', ts: t0, waterLevelCm: 140 }), { qos: 1 })
    const status = () => api.call<RedriveStatus>(operator, 'GET', `/dead-letters/redrive?deviceId=${gauge.id}`).then((r) => r.body)
    await waitFor(async () => (await status()).pending === 1, { what: 'one unknown_device letter' })
    await provision(gauge)

    const done = await api.call<RedriveResult>(operator, 'POST', '/dead-letters/redrive', { deviceId: gauge.id })
    expect(done.body).toEqual({ redriven: 1, stored: 1, stillRejected: [] })
    const owner = owned().findIndex((o) => o.includes(partitionOf(gauge.id, 2)))
    expect(ingests.map((w) => w.redrives.orders)).toEqual(owner === 0 ? [1, 0] : [0, 1])
    // the other heard it too, and left it to the owner
    await waitFor(() => ingests[1 - owner]!.redrives.leftToOwner > 0, { what: 'the other worker to have heard the order' })
    expect((await status()).pending).toBe(0)
  })
})
