import { describe, expect, it } from 'vitest'
import { SERVICE_ACCOUNTS } from '@mytho/runtime'
import { readingsTopic } from '@mytho/schema'
import { waitFor } from '@mytho/testing'
import { collect, connect, connectDevice, connectService, deviceA, deviceB, refusalCode, startBroker } from './harness.ts'

/**
 * Issue #15, findings 1 and 2: a credential acts only as itself. A device with its own valid password took over the
 * ingest's persistent session (client id `mytho-ingest`, clean=false: sessionPresent, the ingest dropped, another
 * device's reading delivered to the device), and one device could disconnect another by using its id. Service
 * accounts logged in on the devices' public port.
 */
describe('a client id belongs to one credential', () => {
  it('refuses a device that claims the ingest session (0x02), and the ingest keeps its session and its queue', async () => {
    const b = await startBroker({ MQTT_PERSISTENCE: 'memory' })
    const ingest = await connectService(b, 'ingest', { clientId: 'mytho-ingest', clean: false })
    await ingest.subscribeAsync(readingsTopic('+'), { qos: 1 })
    const got = collect(ingest)
    let ingestClosed = false
    ingest.on('close', () => (ingestClosed = true))

    const code = await refusalCode(b.url, { clientId: 'mytho-ingest', clean: false, username: deviceA, password: b.secrets.devices[deviceA]! })
    expect(code).toBe(2)
    expect(b.broker.stats.connectionsRefused['client-id-not-own']).toBe(1)

    // The ingest still receives: a reading of device B reaches it, and nobody else.
    const dev = await connectDevice(b, deviceB)
    await dev.publishAsync(readingsTopic(deviceB), '{"kind":"water_level","waterLevelCm":100}', { qos: 1 })
    await waitFor(() => got.find((m) => m.topic === readingsTopic(deviceB)), { what: 'reading at the ingest' })
    expect(ingestClosed).toBe(false)
  })

  it("refuses a device using another device's id, which stays connected", async () => {
    const b = await startBroker({ MQTT_PERSISTENCE: 'memory' })
    const victim = await connectDevice(b, deviceB)
    let victimClosed = false
    victim.on('close', () => (victimClosed = true))
    expect(await refusalCode(b.url, { clientId: deviceB, username: deviceA, password: b.secrets.devices[deviceA]! })).toBe(2)
    // A suffix does not make another device's id one's own either.
    expect(await refusalCode(b.url, { clientId: `${deviceB}.x`, username: deviceA, password: b.secrets.devices[deviceA]! })).toBe(2)
    await victim.publishAsync(readingsTopic(deviceB), '{"kind":"water_level","waterLevelCm":100}', { qos: 1 })
    expect(victimClosed).toBe(false)
    expect(b.broker.stats.connectionsRefused['client-id-not-own']).toBe(2)
  })

  it('refuses random and empty client ids for a device, accepts its id and its id with a dot suffix', async () => {
    const b = await startBroker({ MQTT_PERSISTENCE: 'memory' })
    const login = { username: deviceA, password: b.secrets.devices[deviceA]! }
    expect(await refusalCode(b.url, { ...login, clientId: 'mqttjs_1a2b3c4d' })).toBe(2)
    expect(await refusalCode(b.url, { ...login, clientId: '', clean: true })).toBe(2)
    expect(await refusalCode(b.url, { ...login, clientId: `${deviceA}-backfill` })).toBe(2)
    const own = await connect(b.url, { ...login, clientId: deviceA })
    const second = await connect(b.url, { ...login, clientId: `${deviceA}.backfill` })
    expect(own.connected && second.connected).toBe(true)
  })

  it('keeps each service account to its own range of client ids, and devices out of them', async () => {
    const b = await startBroker({ MQTT_PERSISTENCE: 'memory' })
    const ingestLogin = { username: SERVICE_ACCOUNTS.ingest, password: b.secrets.services[SERVICE_ACCOUNTS.ingest]! }
    const apiLogin = { username: SERVICE_ACCOUNTS.api, password: b.secrets.services[SERVICE_ACCOUNTS.api]! }
    expect(await refusalCode(b.url, { ...apiLogin, clientId: 'mytho-ingest' })).toBe(2)
    expect(await refusalCode(b.url, { ...ingestLogin, clientId: 'mytho-api-1234' })).toBe(2)
    expect(await refusalCode(b.url, { ...ingestLogin, clientId: deviceA })).toBe(2)
    expect(await refusalCode(b.url, { ...ingestLogin, clientId: 'mytho-ingestx' })).toBe(2)
    await connect(b.url, { ...ingestLogin, clientId: 'mytho-ingest-p3of8' })
    await connect(b.url, { ...apiLogin, clientId: 'mytho-api-1234' })
  })
})

describe('service accounts stay inside', () => {
  it('refuses svc-ingest on the public listener from outside MQTT_SERVICE_NETS, even with its right password', async () => {
    // 127.0.0.1 is not in the configured network: to this broker the test is a stranger on the public port.
    const b = await startBroker({ MQTT_PERSISTENCE: 'memory', MQTT_SERVICE_NETS: '10.9.8.0/24', MQTT_INTERNAL_PORT: '0' })
    const login = { clientId: 'mytho-ingest', username: SERVICE_ACCOUNTS.ingest, password: b.secrets.services[SERVICE_ACCOUNTS.ingest]! }
    expect(await refusalCode(b.url, login)).toBe(5)
    expect(b.broker.stats.connectionsRefused['service-not-internal']).toBe(1)
    // The same credential on the internal listener is let in.
    await connect(`mqtt://127.0.0.1:${b.internalPort}`, login)
  })

  it('lets service accounts in on the internal listener, and never over WebSocket', async () => {
    const b = await startBroker({ MQTT_PERSISTENCE: 'memory', MQTT_SERVICE_NETS: 'none', MQTT_INTERNAL_PORT: '0' })
    const login = { username: SERVICE_ACCOUNTS.api, password: b.secrets.services[SERVICE_ACCOUNTS.api]! }
    expect(b.internalPort).toBeGreaterThan(0)
    expect(await refusalCode(b.url, { ...login, clientId: 'mytho-api-1' })).toBe(5)
    const inside = await connect(`mqtt://127.0.0.1:${b.internalPort}`, { ...login, clientId: 'mytho-api-2' })
    expect(inside.connected).toBe(true)
    // Devices may use the internal listener too (the compose simulator does not need to, but nothing breaks if it does).
    await connect(`mqtt://127.0.0.1:${b.internalPort}`, { clientId: deviceA, username: deviceA, password: b.secrets.devices[deviceA]! })
  })

  it('never accepts a service account over WebSocket, even from loopback', async () => {
    const b = await startBroker({ MQTT_PERSISTENCE: 'memory' })
    const login = { clientId: 'mytho-api-ws', username: SERVICE_ACCOUNTS.api, password: b.secrets.services[SERVICE_ACCOUNTS.api]! }
    expect(await refusalCode(b.wsUrl!, login)).toBe(5)
    // From loopback on plain TCP (the default MQTT_SERVICE_NETS: one host, npm start) it is let in.
    await connect(b.url, login)
  })
})
