import { describe, expect, it } from 'vitest'
import { commandsTopic, readingsTopic, statusTopic } from '@mytho/schema'
import { waitFor } from '@mytho/testing'
import {
  collect,
  connect,
  connectDevice,
  connectService,
  deviceA,
  deviceB,
  ingestListener,
  refusalCode,
  startBroker,
  subscribeCodes,
  untilClosed,
} from './harness.ts'

describe('topic authorization', () => {
  it("closes a device that publishes on another device's topic; nothing reaches ingest", async () => {
    const b = await startBroker()
    const got = await ingestListener(b)
    const intruder = await connectDevice(b, deviceA)
    const closed = untilClosed(intruder)
    // QoS 0: MQTT 3.1.1 has no negative PUBACK; Aedes closes the connection [MQTT-3.3.5-2].
    intruder.publish(readingsTopic(deviceB), JSON.stringify({ kind: 'traffic', ts: 1, vehicleCount: 1 }))
    await closed
    expect(b.broker.stats.packetsRefused).toEqual({ 'publish-denied': 1 })

    // Its own topic still works on a new connection, and only that message arrives.
    const honest = await connectDevice(b, deviceA)
    await honest.publishAsync(readingsTopic(deviceA), '{"ts":1}', { qos: 1 })
    await waitFor(() => got.length === 1, { what: 'the honest reading' })
    expect(got.map((m) => m.topic)).toEqual([readingsTopic(deviceA)])
  })

  it("answers SUBACK 0x80 to a device subscribing to another device's commands, and grants its own", async () => {
    const b = await startBroker()
    const device = await connectDevice(b, deviceA)
    expect(await subscribeCodes(device, [commandsTopic(deviceB), commandsTopic(deviceA), 'mytho/v1/devices/+/commands', readingsTopic(deviceA)], 1)).toEqual([
      128, 1, 128, 128,
    ])
    expect(b.broker.stats.packetsRefused).toEqual({ 'subscribe-denied': 3 })
    expect(device.connected).toBe(true)
  })

  it('lets svc-api send a command to a device, and refuses svc-ingest anything but readings and status', async () => {
    const b = await startBroker()
    const device = await connectDevice(b, deviceA)
    const commands = collect(device)
    await device.subscribeAsync(commandsTopic(deviceA), { qos: 1 })
    const api = await connectService(b, 'api')
    expect(await subscribeCodes(api, ['mytho/v1/#', 'other/#'])).toEqual([0, 128])
    await api.publishAsync(commandsTopic(deviceA), '{"cmd":"ping"}', { qos: 1 })
    await waitFor(() => commands.length === 1, { what: 'the command at the device' })
    expect(commands[0]).toMatchObject({ topic: commandsTopic(deviceA), payload: '{"cmd":"ping"}' })

    const ingest = await connectService(b, 'ingest')
    expect(
      await subscribeCodes(ingest, ['mytho/v1/devices/+/readings', `mytho/v1/devices/${deviceA}/status`, 'mytho/v1/devices/+/commands', 'mytho/v1/#', '#']),
    ).toEqual([0, 0, 128, 128, 128])
    const closed = untilClosed(ingest)
    ingest.publish(readingsTopic(deviceA), '{"ts":1}')
    await closed
  })

  it("refuses at CONNECT a device whose Last Will targets another device's status", async () => {
    const b = await startBroker()
    expect(
      await refusalCode(b.url, {
        username: deviceA,
        password: b.secrets.devices[deviceA]!,
        will: { topic: statusTopic(deviceB), payload: Buffer.from('offline'), qos: 1, retain: true },
      }),
    ).toBe(5)
    expect(b.broker.stats.connectionsRefused).toEqual({ 'will-not-allowed': 1 })
  })

  it('keeps $SYS/ for the broker, even for anonymous clients', async () => {
    const b = await startBroker({ MQTT_ALLOW_ANONYMOUS: 'true' })
    const anon = await connect(b.url)
    const closed = untilClosed(anon)
    anon.publish('$SYS/fake', 'x')
    await closed
    expect(b.broker.stats.packetsRefused).toEqual({ 'publish-denied': 1 })
  })
})
