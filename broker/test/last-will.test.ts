import { describe, expect, it } from 'vitest'
import { commandsTopic, statusTopic } from '@mytho/schema'
import { waitFor } from '@mytho/testing'
import { collect, connectDevice, connectService, deviceA, ingestListener, startBroker } from './harness.ts'

describe('Last Will', () => {
  it('publishes a dropped device\'s "offline" on its status topic, retained', async () => {
    const b = await startBroker()
    const live = await ingestListener(b)
    const device = await connectDevice(b, deviceA, { will: { topic: statusTopic(deviceA), payload: Buffer.from('offline'), qos: 1, retain: true } })
    await device.publishAsync(statusTopic(deviceA), 'online', { qos: 1, retain: true })
    await waitFor(() => live.some((m) => m.payload === 'online'), { what: 'online' })

    device.stream.destroy() // the device loses power: no DISCONNECT, so the Will fires [MQTT-3.1.2-8]
    await waitFor(() => live.some((m) => m.payload === 'offline'), { what: 'the Will at svc-ingest' })
    expect(live.map((m) => [m.topic, m.payload])).toEqual([
      [statusTopic(deviceA), 'online'],
      [statusTopic(deviceA), 'offline'],
    ])

    // Whoever subscribes later (the API after a restart) learns the last state from the retained Will.
    const api = await connectService(b, 'api')
    const later = collect(api)
    await api.subscribeAsync(statusTopic(deviceA), { qos: 1 })
    await waitFor(() => later.length === 1, { what: 'the retained status' })
    expect(later[0]).toMatchObject({ topic: statusTopic(deviceA), payload: 'offline', retain: true })
  })

  it('does not publish the Will after a clean DISCONNECT [MQTT-3.1.2-10]', async () => {
    const b = await startBroker()
    const device = await connectDevice(b, deviceA, { will: { topic: statusTopic(deviceA), payload: Buffer.from('offline'), qos: 1, retain: true } })
    await device.endAsync()
    const api = await connectService(b, 'api')
    const later = collect(api)
    await api.subscribeAsync([statusTopic(deviceA), commandsTopic(deviceA)], { qos: 1 })
    // A retained Will would arrive on SUBSCRIBE, before this marker.
    await api.publishAsync(commandsTopic(deviceA), 'marker', { qos: 1 })
    await waitFor(() => later.length > 0, { what: 'the marker' })
    expect(later.map((m) => m.payload)).toEqual(['marker'])
  })
})
