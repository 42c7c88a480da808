import Database from 'better-sqlite3'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readingsTopic } from '@mytho/schema'
import { waitFor } from '@mytho/testing'
import { collect, connect, connectDevice, connectService, deviceA, deviceB, ingestListener, refusalCode, startBroker } from './harness.ts'

describe('device authentication', () => {
  it('lets a device in with its secret and carries its readings to ingest', async () => {
    const b = await startBroker()
    const got = await ingestListener(b)
    const device = await connectDevice(b, deviceA)
    await device.publishAsync(readingsTopic(deviceA), JSON.stringify({ kind: 'traffic', ts: 1_700_000_000_000, vehicleCount: 12 }), { qos: 1 })
    await waitFor(() => got.length === 1, { what: 'the reading at svc-ingest' })
    expect(got[0]).toMatchObject({ topic: readingsTopic(deviceA), payload: '{"kind":"traffic","ts":1700000000000,"vehicleCount":12}' })
  })

  it('refuses a wrong password with CONNACK 4 and an unknown device with 4', async () => {
    const b = await startBroker()
    await expect(connect(b.url, { username: deviceA, password: 'not-the-secret' })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[ErrorWithReasonCode: Connection refused: Bad username or password]`,
    )
    expect(await refusalCode(b.url, { username: deviceA, password: b.secrets.devices[deviceB]! })).toBe(4)
    expect(await refusalCode(b.url, { username: 'no-such-device', password: 'x' })).toBe(4)
    expect(await refusalCode(b.url, { username: deviceA })).toBe(4)
    expect(b.broker.stats.connectionsRefused).toEqual({ 'bad-password': 3, 'unknown-username': 1 })
  })

  it('refuses anonymous clients with CONNACK 5 unless MQTT_ALLOW_ANONYMOUS', async () => {
    const closed = await startBroker()
    await expect(connect(closed.url)).rejects.toThrowErrorMatchingInlineSnapshot(`[ErrorWithReasonCode: Connection refused: Not authorized]`)
    expect(closed.broker.stats.connectionsRefused).toEqual({ anonymous: 1 })

    const open = await startBroker({ MQTT_ALLOW_ANONYMOUS: 'true' })
    const anon = await connect(open.url)
    const got = collect(anon)
    await anon.subscribeAsync('#')
    await anon.publishAsync('anything/goes', 'hi', { qos: 1 })
    await waitFor(() => got.some((m) => m.topic === 'anything/goes'), { what: 'anonymous round trip' })
    // A user name is still checked when one is given.
    expect(await refusalCode(open.url, { username: deviceA, password: 'wrong' })).toBe(4)
  })

  it('refuses a disabled device with CONNACK 5', async () => {
    const b = await startBroker()
    const db = new Database(join(b.dataDir, 'meta.sqlite'))
    db.prepare('UPDATE credentials SET disabled = 1 WHERE username = ?').run(deviceA)
    db.close()
    expect(await refusalCode(b.url, { username: deviceA, password: b.secrets.devices[deviceA]! })).toBe(5)
    expect(b.broker.stats.connectionsRefused).toEqual({ disabled: 1 })
  })

  it('lets both service accounts in with the demo secrets, and with passwords from the environment', async () => {
    const demo = await startBroker()
    await connectService(demo, 'ingest')
    await connectService(demo, 'api')

    const fromEnv = await startBroker({ INGEST_MQTT_PASSWORD: 'q8J1zN0t5bVx2sK7mW4pR9eA', API_MQTT_PASSWORD: 'Xk3v9Qm2L8pZ4rT7wB1nY6cF' })
    await connect(fromEnv.url, { username: 'svc-ingest', password: 'q8J1zN0t5bVx2sK7mW4pR9eA' })
    await connect(fromEnv.url, { username: 'svc-api', password: 'Xk3v9Qm2L8pZ4rT7wB1nY6cF' })
    // Passwords from the environment are not written to the demo secrets file.
    expect(fromEnv.secrets.services).toEqual({})
  })

  it('seeds nothing when SEED_DEMO_SECRETS=false: devices without a credential are refused', async () => {
    const b = await startBroker({ SEED_DEMO_SECRETS: 'false' })
    expect(b.secrets).toEqual({ devices: {}, services: {} })
    expect(await refusalCode(b.url, { username: deviceA, password: 'anything' })).toBe(4)
  })
})
