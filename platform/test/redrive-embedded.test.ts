import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { createApi } from '@mytho/api'
import { openCredentialStore, openDeviceDirectory, openProvisionedRegistryFromConfig } from '@mytho/directory'
import { silentLogger } from '@mytho/runtime'
import { DeviceRecord, loadRegistryFile, readingsTopic, type RedriveResult, type Rejection } from '@mytho/schema'
import { createSqliteStore } from '@mytho/storage'
import { connectDevice, makeTempDir, waitFor } from '@mytho/testing'
import { createEmbeddedPipeline, loadEmbeddedConfig } from '../src/embedded.ts'

/*
 * Re-drive with the ingest inside the broker's process (src/embedded.ts, `npm run start:embedded`): the order reaches
 * the ingest through its in-process subscription and the answer goes out through the broker, to an API connected
 * over MQTT as svc-api. Real Aedes on port 0, real SQLite, real HTTP.
 */
const gauge = {
  id: 'wl-rach-gam-03',
  kind: 'water_level',
  nameVi: 'Đo mực nước rạch Gầm 3',
  nameEn: 'Water level Rach Gam 3',
  lat: 10.361,
  lon: 106.361,
  ward: 'my-tho',
  intervalS: 300,
  batteryPowered: true,
  waterBody: 'canal',
  locationConfidence: 'C',
}

describe('re-drive with the embedded ingest', () => {
  it('the in-process ingest answers the API’s order: readings stored, letters gone', async () => {
    const tmp = makeTempDir('mytho-redrive-embedded-')
    onTestFinished(() => tmp.cleanup())
    const config = loadEmbeddedConfig({ DATA_DIR: tmp.path, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_WS_PORT: 'off', INGEST_BATCH_WAIT_MS: '10' })
    const store = createSqliteStore({ path: join(tmp.path, 'readings.sqlite') })
    const provisioned = await openProvisionedRegistryFromConfig({ DATA_DIR: tmp.path }, loadRegistryFile())
    const pipeline = await createEmbeddedPipeline(config, { store, registry: provisioned.registry, resyncRegistry: provisioned.resync, logger: silentLogger })
    const { mqttPort } = await pipeline.start()
    onTestFinished(async () => {
      await pipeline.stop()
      await store.close()
      await provisioned.close()
    })
    const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`

    const apiStore = createSqliteStore({ path: join(tmp.path, 'readings.sqlite') })
    const api = createApi(
      { HTTP_PORT: 0, HTTP_HOST: '127.0.0.1', MQTT_URL: mqttUrl, DATA_DIR: tmp.path },
      { store: apiStore, registry: loadRegistryFile(), logger: silentLogger },
    )
    const { port } = await api.start()
    onTestFinished(async () => {
      await api.stop()
      await apiStore.close()
    })
    const base = `http://127.0.0.1:${port}/api/v1`

    const credentials = openCredentialStore(tmp.path)
    const directory = openDeviceDirectory(tmp.path)
    onTestFinished(async () => {
      await credentials.close()
      await directory.close()
    })
    const secret = randomBytes(24).toString('base64url')
    await credentials.setSecret(gauge.id, 'device', secret)
    const device = await connectDevice(mqttUrl, gauge.id, secret)
    onTestFinished(() => device.endAsync(true))
    const t0 = Date.now() - 60_000
    await device.publishAsync(readingsTopic(gauge.id), JSON.stringify({ kind: 'water_level', ts: t0, waterLevelCm: 131 }), { qos: 1 })
    await waitFor(async () => (await store.deadLetterCounts({ deviceId: gauge.id }))['unknown_device'] === 1, { what: 'one unknown_device letter' })
    expect(await directory.insert(DeviceRecord.parse(gauge))).toBe(true)

    const res = await fetch(`${base}/dead-letters/redrive`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ deviceId: gauge.id }),
    })
    expect(res.status).toBe(200)
    expect((await res.json()) as RedriveResult).toEqual({ redriven: 1, stored: 1, stillRejected: [] })
    const points = (await store.history({ deviceIds: [gauge.id], metric: 'waterLevelCm', from: t0 - 1, to: t0 + 1, window: 'raw' }))[0]!.points
    expect(points.map((p) => [p.ts, p.mean])).toEqual([[t0, 131]])
    const left = (await (await fetch(`${base}/dead-letters?deviceId=${gauge.id}`)).json()) as Rejection[]
    expect(left).toEqual([])
    expect(pipeline.ingest.redrives.answered).toBe(1)
  })
})
