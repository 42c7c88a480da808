import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MqttClient } from 'mqtt'
import { createSqliteStore, type ReadingStore } from '@mytho/storage'
import { waitFor } from '@mytho/testing'
import { join } from 'node:path'
import { connectDevice, publishReading, startBroker, startIngest } from './pipeline.ts'

/**
 * Every kind of bad input a device can send reaches the dead-letter store with its reason,
 * the ingest stays up, and the device's next good reading is stored.
 */
describe('bad input is dead-lettered and nothing else is lost', () => {
  let pipeline: Awaited<ReturnType<typeof startBroker>>
  let store: ReadingStore
  let ingest: ReturnType<typeof startIngest>
  let device: MqttClient
  const id = 'wl-bao-dinh-mouth'

  beforeAll(async () => {
    pipeline = await startBroker()
    store = createSqliteStore({ path: join(pipeline.dataDir, 'readings.sqlite') })
    ingest = startIngest(store, pipeline.mqttUrl, pipeline.dataDir, { INGEST_MAX_PAYLOAD_BYTES: '2048' })
    await ingest.start()
    device = await connectDevice(pipeline.mqttUrl, id, pipeline.secrets.devices[id]!)
  })
  afterAll(async () => {
    await device?.endAsync()
    await ingest?.stop()
    await store?.close()
    await pipeline?.cleanup()
  })

  const now = () => Date.now() - 1000
  const cases: [string, () => unknown, string][] = [
    ['non-JSON', () => 'mực nước 152cm', 'not_json'],
    ['wrong type', () => ({ kind: 'water_level', ts: now(), waterLevelCm: '152' }), 'invalid_reading'],
    ['missing field', () => ({ kind: 'water_level', ts: now() }), 'invalid_reading'],
    ['out of range', () => ({ kind: 'water_level', ts: now(), waterLevelCm: 12_000 }), 'out_of_range'],
    ['NaN', () => `{"kind":"water_level","ts":${now()},"waterLevelCm":NaN}`, 'non_finite'],
    ['Infinity', () => `{"kind":"water_level","ts":${now()},"waterLevelCm":1e999}`, 'non_finite'],
    ['kind mismatch', () => ({ kind: 'rain', ts: now(), rainMm: 1 }), 'kind_mismatch'],
    ['future timestamp', () => ({ kind: 'water_level', ts: Date.now() + 3_600_000, waterLevelCm: 150 }), 'future_timestamp'],
    ['oversized', () => JSON.stringify({ kind: 'water_level', ts: now(), waterLevelCm: 150, note: 'x'.repeat(4000) }), 'oversized'],
  ]

  it.each(cases)('%s → dead letter %s, then the next good reading is stored', async (_name, payload, code) => {
    const before = (await store.deadLetterCounts())[code] ?? 0
    await publishReading(device, id, payload())
    const goodTs = Date.now() - 10
    await publishReading(device, id, { kind: 'water_level', ts: goodTs, waterLevelCm: 150.5 })
    await waitFor(async () => ((await store.deadLetterCounts())[code] ?? 0) === before + 1, { what: `dead letter ${code}` })
    await waitFor(async () => (await store.latest([id]))[0]?.ts === goodTs, { what: 'the next good reading' })
    const [letter] = await store.deadLetters({ deviceId: id, code: code as never, limit: 1 })
    expect(letter).toMatchObject({ code, deviceId: id, topic: `mytho/v1/devices/${id}/readings` })
    expect(letter!.raw.length).toBeGreaterThan(0)
    expect(ingest.connected).toBe(true)
  })

  it('refuses a reading that names a device this one is not the gateway of', async () => {
    await publishReading(device, id, [{ deviceId: 'wl-hydro-station', kind: 'water_level', ts: now(), waterLevelCm: 140 }])
    await waitFor(async () => ((await store.deadLetterCounts())['not_gateway'] ?? 0) === 1, { what: 'not_gateway dead letter' })
    expect(ingest.counters.rejectedByReason['not_gateway']).toBe(1)
  })

  it('dead-letters a payload that is not UTF-8 as not_utf8, then stores the next good reading', async () => {
    const before = (await store.deadLetterCounts())['not_utf8'] ?? 0
    const topic = `mytho/v1/devices/${id}/readings`
    const bare = Buffer.from([0xff, 0xfe])
    // decoded leniently, this one names another device ("wl-bao-dinh-mouth\ufffd"), and was refused as not_gateway
    const inDeviceId = Buffer.concat([
      Buffer.from(`[{"deviceId":"${id}`),
      Buffer.from([0xff]),
      Buffer.from(`","kind":"water_level","ts":${now()},"waterLevelCm":140}]`),
    ])
    await device.publishAsync(topic, bare, { qos: 1 })
    await device.publishAsync(topic, inDeviceId, { qos: 1 })
    const goodTs = Date.now() - 10
    await publishReading(device, id, { kind: 'water_level', ts: goodTs, waterLevelCm: 150.5 })
    await waitFor(async () => ((await store.deadLetterCounts())['not_utf8'] ?? 0) === before + 2, { what: 'two not_utf8 dead letters' })
    await waitFor(async () => (await store.latest([id]))[0]?.ts === goodTs, { what: 'the next good reading' })
    const letters = await store.deadLetters({ deviceId: id, code: 'not_utf8', limit: 2 })
    expect(letters.map((l) => l.rawBytes).sort((a, b) => a - b)).toEqual([bare.length, inDeviceId.length])
    expect(letters.map((l) => l.topic)).toEqual([topic, topic])
    expect(ingest.counters.rejectedByReason['not_utf8']).toBe(2)
    expect(ingest.connected).toBe(true)
  })
})
