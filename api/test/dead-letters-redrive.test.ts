import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { createBroker, loadBrokerConfig } from '@mytho/broker'
import { openCredentialStore, openDeviceDirectory } from '@mytho/directory'
import { createIngest, loadIngestConfig } from '@mytho/ingest'
import { silentLogger } from '@mytho/runtime'
import { DeviceRecord, loadRegistryFile, type RedriveResult, type RedriveStatus, type Rejection } from '@mytho/schema'
import { createSqliteStore } from '@mytho/storage'
import { connectDevice, makeTempDir, publishReading, waitFor } from '@mytho/testing'
import { startSecuredApi } from './auth-harness.ts'

const gauge = {
  id: 'wl-rach-gam-02',
  kind: 'water_level',
  nameVi: 'Đo mực nước rạch Gầm 2',
  nameEn: 'Water level Rach Gam 2',
  lat: 10.36,
  lon: 106.36,
  ward: 'my-tho',
  intervalS: 300,
  batteryPowered: true,
  waterBody: 'canal',
  locationConfidence: 'C',
}

/**
 * A real broker on port 0, the API with sign-in over the same DATA_DIR, and an ingest over the registry file. A device
 * with a credential but no registry record (installed before its record was entered) is let in by the broker, which
 * reads only the credential rows, and its readings are dead-lettered as unknown_device; entering its record in the
 * device directory (what POST /admin/devices writes beside the secret) provisions it: the case re-drive is for.
 */
async function platform() {
  const tmp = makeTempDir('mytho-api-redrive-')
  onTestFinished(() => tmp.cleanup())
  const broker = await createBroker(
    loadBrokerConfig({ DATA_DIR: tmp.path, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_WS_PORT: 'off', MQTT_PERSISTENCE: 'memory' }),
    { logger: silentLogger },
  )
  const { mqttPort } = await broker.start()
  onTestFinished(() => broker.stop())
  const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`
  const api = await startSecuredApi({ MQTT_URL: mqttUrl }, tmp.path)
  const store = createSqliteStore({ path: join(tmp.path, 'readings.sqlite') })
  const ingest = createIngest(loadIngestConfig({ MQTT_URL: mqttUrl, DATA_DIR: tmp.path, INGEST_BATCH_WAIT_MS: '10' }), {
    store,
    registry: loadRegistryFile(),
    logger: silentLogger,
  })
  await ingest.start()
  onTestFinished(async () => {
    await ingest.stop()
    await store.close()
  })
  const credentials = openCredentialStore(tmp.path)
  const directory = openDeviceDirectory(tmp.path)
  onTestFinished(async () => {
    await credentials.close()
    await directory.close()
  })
  /** Connects a device that has a secret but no record. */
  const unknownDevice = async (id: string) => {
    const secret = randomBytes(24).toString('base64url')
    await credentials.setSecret(id, 'device', secret)
    const c = await connectDevice(mqttUrl, id, secret)
    onTestFinished(() => c.endAsync(true))
    return c
  }
  const provision = async (record: unknown) => expect(await directory.insert(DeviceRecord.parse(record))).toBe(true)
  return { api, store, unknownDevice, provision }
}

describe('POST /dead-letters/redrive', () => {
  it('stores a provisioned device’s unknown_device readings once, keeps what still fails, and audits it', async () => {
    const { api, store, unknownDevice, provision } = await platform()
    const admin = await api.signIn('admin')
    const operator = await api.signIn('operator')
    const device = await unknownDevice(gauge.id)
    const t0 = Date.now() - 60_000
    await publishReading(device, gauge.id, { kind: 'water_level', ts: t0, waterLevelCm: 120.5 })
    await publishReading(device, gauge.id, [
      { kind: 'water_level', ts: t0 + 1000, waterLevelCm: 121 },
      { kind: 'water_level', ts: t0 + 2000, waterLevelCm: 'cao' },
    ])
    await waitFor(async () => (await store.deadLetterCounts({ deviceId: gauge.id }))['unknown_device'] === 3, { what: 'three unknown_device letters' })
    const listed = await api.call<Rejection[]>(operator, 'GET', `/dead-letters?deviceId=${gauge.id}`)
    expect(listed.body.map((l) => l.code)).toEqual(['unknown_device', 'unknown_device', 'unknown_device'])
    expect(listed.body.every((l) => typeof l.id === 'string')).toBe(true)

    const history = async () =>
      (await store.history({ deviceIds: [gauge.id], metric: 'waterLevelCm', from: t0 - 1, to: t0 + 10_000, window: 'raw' }))[0]!.points.map((p) => [
        p.ts,
        p.mean,
      ])
    expect(await history()).toEqual([])
    const status = () => api.call<RedriveStatus>(operator, 'GET', `/dead-letters/redrive?deviceId=${gauge.id}`).then((r) => r.body)
    expect(await status()).toEqual({ deviceId: gauge.id, registered: false, disabled: false, pending: 3 })
    expect((await api.call(operator, 'POST', '/dead-letters/redrive', { deviceId: gauge.id })).status).toBe(404)

    await provision(gauge)
    expect(await status()).toEqual({ deviceId: gauge.id, registered: true, disabled: false, pending: 3 })
    const first = await api.call<RedriveResult>(operator, 'POST', '/dead-letters/redrive', { deviceId: gauge.id })
    expect(first.status).toBe(200)
    expect(first.body).toMatchObject({ redriven: 2, stored: 2, stillRejected: [{ reason: 'invalid_reading', id: expect.any(String) }] })
    expect(await history()).toEqual([
      [t0, 120.5],
      [t0 + 1000, 121],
    ])
    const left = await api.call<Rejection[]>(operator, 'GET', `/dead-letters?deviceId=${gauge.id}`)
    expect(left.body.map((l) => l.id)).toEqual([first.body.stillRejected[0]!.id])

    const second = await api.call<RedriveResult>(operator, 'POST', '/dead-letters/redrive', { deviceId: gauge.id })
    expect(second.body).toMatchObject({ redriven: 0, stored: 0 })
    expect(await history()).toHaveLength(2)

    const audit = (await api.call<{ actor: string; target: string; detail: unknown }[]>(admin, 'GET', '/audit?action=dead-letter-redrive')).body
    expect(audit.map((e) => [e.actor, e.target, e.detail])).toEqual([
      ['operator1', gauge.id, { redriven: 0, stored: 0, stillRejected: 1 }],
      ['operator1', gauge.id, { redriven: 2, stored: 2, stillRejected: 1 }],
    ])

    // the counts over time: all three were rejected in this hour; the two re-driven ones are no longer dead letters
    const now = Date.now()
    const counts = await api.call<{ start: number; code: string; count: number }[]>(
      operator,
      'GET',
      `/dead-letters/counts?deviceId=${gauge.id}&from=${now - 3_600_000}&to=${now + 1}&bucket=hour`,
    )
    expect(counts.body.reduce((n, b) => n + b.count, 0)).toBe(1)
  })

  it('refuses a viewer, a body without a device, a device not provisioned, and a POST without the CSRF token', async () => {
    const { api } = await platform()
    const viewer = await api.signIn('viewer')
    const operator = await api.signIn('operator')
    expect((await api.call(viewer, 'POST', '/dead-letters/redrive', { deviceId: gauge.id })).status).toBe(403)
    expect((await api.call(viewer, 'GET', '/dead-letters')).status).toBe(403)
    expect((await api.call(undefined, 'POST', '/dead-letters/redrive', { deviceId: gauge.id })).status).toBe(401)

    const noDevice = await api.call<{ error: string }>(operator, 'POST', '/dead-letters/redrive', {})
    expect(noDevice.status).toBe(400)
    expect(noDevice.body.error).toMatch(/invalid body field deviceId/)
    const badIds = await api.call<{ error: string }>(operator, 'POST', '/dead-letters/redrive', { deviceId: gauge.id, ids: [] })
    expect(badIds.status).toBe(400)
    expect(badIds.body.error).toMatch(/invalid body field ids/)

    const unknown = await api.call<{ error: string }>(operator, 'POST', '/dead-letters/redrive', { deviceId: 'wl-nowhere' })
    expect(unknown.status).toBe(404)
    expect(unknown.body.error).toMatch(/wl-nowhere is not in the registry/)
    expect((await api.call(operator, 'POST', '/dead-letters/redrive', { deviceId: gauge.id }, { csrf: false })).status).toBe(403)

    const bucketAlone = await api.call<{ error: string }>(operator, 'GET', '/dead-letters/counts?bucket=hour')
    expect(bucketAlone.status).toBe(400)
    expect(bucketAlone.body.error).toMatch(/invalid query parameter bucket/)
  })
})
