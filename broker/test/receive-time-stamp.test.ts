import { describe, expect, it } from 'vitest'
import { readingsTopic, statusTopic } from '@mytho/schema'
import { waitFor } from '@mytho/testing'
import { connectDevice, deviceA, ingestListener, startBroker } from './harness.ts'

describe('receive-time stamping', () => {
  it('adds rxTs to readings without ts, leaves readings with ts and other topics byte for byte', async () => {
    const b = await startBroker({}, { clock: () => 1_750_000_000_123 })
    const got = await ingestListener(b)
    const device = await connectDevice(b, deviceA)
    const sent = [
      '{"kind":"traffic","vehicleCount":7}',
      '{"kind":"traffic","ts":1749999999000,"vehicleCount":8}',
      '[{"kind":"traffic","ts":1749999990000,"vehicleCount":1},{"kind":"traffic","vehicleCount":2.50}]',
      'not json {',
    ]
    for (const payload of sent) await device.publishAsync(readingsTopic(deviceA), payload, { qos: 1 })
    await device.publishAsync(statusTopic(deviceA), '{"state":"online"}', { qos: 1 })
    await waitFor(() => got.length === 5, { what: 'five messages' })
    expect(got.map((m) => m.payload)).toEqual([
      '{"kind":"traffic","vehicleCount":7,"rxTs":1750000000123}',
      '{"kind":"traffic","ts":1749999999000,"vehicleCount":8}',
      '[{"kind":"traffic","ts":1749999990000,"vehicleCount":1},{"kind":"traffic","vehicleCount":2.50,"rxTs":1750000000123}]',
      'not json {',
      '{"state":"online"}',
    ])
    expect(b.broker.stats.stamped).toBe(2)
  })

  it('stores the stamped payload, so a retained or queued copy keeps the same rxTs', async () => {
    let now = 1_000
    const b = await startBroker({}, { clock: () => now })
    const device = await connectDevice(b, deviceA)
    await device.publishAsync(readingsTopic(deviceA), '{"v":1}', { qos: 1, retain: true })
    now = 2_000
    const got = await ingestListener(b)
    await waitFor(() => got.length === 1, { what: 'the retained reading' })
    expect(got[0]!.payload).toBe('{"v":1,"rxTs":1000}')
  })
})
