import { readFileSync } from 'node:fs'
import { describe, expect, it, onTestFinished } from 'vitest'
import { makeTempDir, makeTestCertificate } from '@mytho/testing'
import { openCredentialStore, REGISTRY_NOTICE_TOPIC } from '@mytho/directory'
import type { MqttClient } from 'mqtt'
import { connect, connectDevice, connectService, deviceA, deviceB, refusalCode, startBroker } from './harness.ts'

const closedOnce = (c: MqttClient) => new Promise<void>((resolve) => c.once('close', () => resolve()))

const BAD_USERNAME_OR_PASSWORD = 4
const NOT_AUTHORIZED = 5

/** The API's side of provisioning: write the metadata store, then tell the broker on the registry topic. */
async function apiSide(b: Awaited<ReturnType<typeof startBroker>>) {
  const store = openCredentialStore(b.dataDir)
  onTestFinished(() => store.close())
  const api = await connectService(b, 'api')
  return {
    store,
    notify: (op: string, deviceId: string) => api.publishAsync(REGISTRY_NOTICE_TOPIC, JSON.stringify({ op, deviceId }), { qos: 1 }),
  }
}

describe('device provisioning at the broker', () => {
  it('drops a disabled device at once and refuses its reconnect; others stay connected', async () => {
    const b = await startBroker()
    const { store, notify } = await apiSide(b)
    const a = await connectDevice(b, deviceA)
    const other = await connectDevice(b, deviceB)
    const closed = closedOnce(a)
    expect(await store.setDisabled(deviceA, true)).toBe(true)
    await notify('disabled', deviceA)
    await closed
    expect(await refusalCode(b.url, { username: deviceA, password: b.secrets.devices[deviceA]! })).toBe(NOT_AUTHORIZED)
    expect(other.connected).toBe(true)
    await store.setDisabled(deviceA, false)
    await (await connectDevice(b, deviceA)).endAsync()
  })

  it('a rotated secret ends the live session and the old secret no longer logs in', async () => {
    const b = await startBroker()
    const { store, notify } = await apiSide(b)
    const a = await connectDevice(b, deviceA)
    const closed = closedOnce(a)
    await store.setSecret(deviceA, 'device', 'the-new-secret-0123456789')
    await notify('rotated', deviceA)
    await closed
    expect(await refusalCode(b.url, { username: deviceA, password: b.secrets.devices[deviceA]! })).toBe(BAD_USERNAME_OR_PASSWORD)
    await (await connect(b.url, { username: deviceA, password: 'the-new-secret-0123456789' })).endAsync()
  })

  it('a device provisioned in the store only (not in the registry file) logs in; a device may not send notices', async () => {
    const b = await startBroker()
    const { store } = await apiSide(b)
    await store.setSecret('wl-new-gauge-01', 'device', 'provisioned-secret-0123456789')
    const c = await connect(b.url, { username: 'wl-new-gauge-01', password: 'provisioned-secret-0123456789' })
    await c.publishAsync('mytho/v1/devices/wl-new-gauge-01/status', 'online', { qos: 1 })
    // A device publishing a registry notice is refused (connection closed), so it cannot drop others.
    const other = await connectDevice(b, deviceB)
    const closed = closedOnce(c)
    c.publish(REGISTRY_NOTICE_TOPIC, JSON.stringify({ op: 'disabled', deviceId: deviceB }), { qos: 0 })
    await closed
    expect(b.broker.stats.packetsRefused['publish-denied']).toBe(1)
    expect(other.connected).toBe(true)
  })

  it('closes a device that publishes over its rate; another device keeps publishing', async () => {
    const b = await startBroker({ MQTT_MAX_PUBLISH_PER_S: '1', MQTT_PUBLISH_BURST: '5' })
    const runaway = await connectDevice(b, deviceA)
    const calm = await connectDevice(b, deviceB)
    const closed = closedOnce(runaway)
    for (let i = 0; i < 20; i++) runaway.publish(`mytho/v1/devices/${deviceA}/status`, 'online', { qos: 0 })
    await closed
    expect(b.broker.stats.packetsRefused['publish-rate-exceeded']).toBe(1)
    await calm.publishAsync(`mytho/v1/devices/${deviceB}/status`, 'online', { qos: 1 })
    expect(calm.connected).toBe(true)
  })
})

describe('MQTT over TLS', () => {
  it('accepts a device over TLS with a certificate generated here, and still checks its secret', async () => {
    const dir = makeTempDir('mytho-tls-')
    onTestFinished(() => dir.cleanup())
    const { cert, key } = makeTestCertificate(dir.path, { cn: 'localhost', san: 'IP:127.0.0.1,DNS:localhost' })
    const b = await startBroker({ MQTT_TLS_PORT: '0', MQTT_TLS_CERT: cert, MQTT_TLS_KEY: key })
    const port = b.tlsPort
    expect(port).toBeGreaterThan(0)
    const ca = readFileSync(cert)
    const c = await connect(`mqtts://127.0.0.1:${port}`, { username: deviceA, password: b.secrets.devices[deviceA]!, ca, servername: 'localhost' })
    await c.publishAsync(`mytho/v1/devices/${deviceA}/status`, 'online', { qos: 1 })
    expect(await refusalCode(`mqtts://127.0.0.1:${port}`, { username: deviceA, password: 'wrong', ca })).toBe(BAD_USERNAME_OR_PASSWORD)
    // An unknown certificate is not trusted by default.
    await expect(connect(`mqtts://127.0.0.1:${port}`, { username: deviceA, password: b.secrets.devices[deviceA]!, connectTimeout: 3000 })).rejects.toThrow()
  })
})
