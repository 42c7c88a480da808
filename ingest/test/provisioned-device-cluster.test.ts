import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import type { DeviceRecord } from '@mytho/schema'
import { createSqliteStore } from '@mytho/storage'
import { connectDevice, makeTempDir, publishReading, startRedisServer, waitFor, type RedisServer } from '@mytho/testing'
import { apiCall, signIn, spawnApi, spawnBroker, spawnIngest } from './cluster-harness.ts'

/*
 * Three hosts sharing nothing but REDIS_URL: a broker on one, an API node on another, an ingest worker with an
 * empty DATA_DIR of its own on a third (its readings in its own SQLite file here, standing in for the cluster's
 * InfluxDB). A device an admin provisions through the API after the worker started is accepted by the worker: it
 * follows the device directory in Redis, it has no meta.sqlite to read.
 */
describe('a device provisioned through an API node, read by an ingest worker on another host', () => {
  let redis: RedisServer
  beforeAll(async () => {
    redis = await startRedisServer()
  })
  afterAll(() => redis?.stop())

  const gauge: DeviceRecord = {
    id: 'wl-cho-gao-canal-2',
    kind: 'water_level',
    nameVi: 'Mực nước kênh Chợ Gạo 2',
    nameEn: 'Water level Cho Gao canal 2',
    lat: 10.37,
    lon: 106.41,
    ward: 'my-phong',
    intervalS: 300,
    batteryPowered: true,
    waterBody: 'canal',
    locationConfidence: 'C',
  }

  it('stores its first reading, dead-letters nothing, and never opens a meta.sqlite', async () => {
    const dirs = ['broker', 'api', 'ingest'].map((h) => makeTempDir(`mytho-host-${h}-`))
    onTestFinished(() => {
      for (const d of dirs) d.cleanup()
    })
    const [brokerDir, apiDir, ingestDir] = dirs.map((d) => d.path) as [string, string, string]
    const broker = await spawnBroker({ DATA_DIR: brokerDir, REDIS_URL: redis.url })
    const api = await spawnApi({ DATA_DIR: apiDir, REDIS_URL: redis.url, MQTT_URL: broker.url })
    const ingest = await spawnIngest({ DATA_DIR: ingestDir, REDIS_URL: redis.url, MQTT_URL: broker.url, INGEST_PARTITIONS: '2', INGEST_LEASE_TTL_MS: '1500' })
    // A JSON log line saying so (field order is the logger's business).
    const ownsBoth = () =>
      ingest
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{') && l.includes('"partitions owned"'))
        .some((l) => JSON.stringify((JSON.parse(l) as { owned?: unknown }).owned) === '[0,1]')
    await waitFor(ownsBoth, { timeoutMs: 15_000, what: 'the worker to own both partitions' })

    const admin = await signIn(api.url)
    const created = await apiCall<{ deviceId: string; secret: string }>(api.url, admin, 'POST', '/admin/devices', gauge)
    expect(created).toMatchObject({ status: 201, body: { deviceId: gauge.id, secret: expect.any(String) } })
    const device = await connectDevice(broker.url, gauge.id, created.body.secret)
    onTestFinished(() => device.endAsync(true))
    const ts = Date.now() - 1000
    await publishReading(device, gauge.id, { kind: 'water_level', ts, waterLevelCm: 98.5 })

    // Read while the worker runs (WAL: its writes are visible to another connection once committed).
    const store = createSqliteStore({ path: join(ingestDir, 'readings.sqlite') })
    onTestFinished(() => store.close())
    const [stored] = await waitFor(
      async () => {
        const l = await store.latest([gauge.id])
        return l.length ? l : undefined
      },
      { timeoutMs: 15_000, what: 'the new device reading in storage' },
    )
    expect(stored).toMatchObject({ deviceId: gauge.id, ts, ward: 'my-phong', fields: { waterLevelCm: 98.5 } })
    expect(await store.deadLetterCounts()).toEqual({})
    for (const dir of [apiDir, ingestDir]) expect(existsSync(join(dir, 'meta.sqlite')), readdirSync(dir).join(' ')).toBe(false)
  }, 60_000)
})
