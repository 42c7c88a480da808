import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StoredReading } from '@mytho/schema'
import { silentLogger } from '@mytho/runtime'
import { createInfluxStore } from '@mytho/storage'
import { startInfluxd, waitFor } from '@mytho/testing'
import { createBatchWriter } from '../src/batch-writer.ts'

const reading = (i: number): StoredReading => ({
  deviceId: 'wl-hydro-station',
  kind: 'water_level',
  ward: 'my-tho',
  ts: Date.UTC(2026, 10, 25, 0, 0, i),
  tsSource: 'device',
  receivedAt: Date.UTC(2026, 10, 25, 0, 0, i),
  fields: { waterLevelCm: 100 + i },
})

describe('batch writer against a real InfluxDB', () => {
  let influx: Awaited<ReturnType<typeof startInfluxd>>
  beforeAll(async () => {
    influx = await startInfluxd()
  })
  afterAll(async () => {
    await influx?.stop()
  })

  it('acknowledges only after the batch is stored, holding acks while InfluxDB is down', async () => {
    const store = createInfluxStore({ url: influx.url, database: 'ack_test', timeoutMs: 2000 })
    await store.init()
    const writer = createBatchWriter(store, { maxReadings: 3, maxWaitMs: 20, retryMinMs: 50, retryMaxMs: 200 }, silentLogger)
    const acked: number[] = []

    writer.add([reading(1)], [], () => acked.push(1))
    await waitFor(() => acked.length === 1, { what: 'first ack' })
    expect((await store.latest(['wl-hydro-station']))[0]?.fields['waterLevelCm']).toBe(101)

    await influx.pause()
    writer.add([reading(2)], [], () => acked.push(2))
    writer.add([reading(3)], [], () => acked.push(3))
    await waitFor(() => writer.stats.storageDown, { what: 'writer to notice the outage' })
    expect(acked).toEqual([1])

    await influx.resume()
    await waitFor(() => acked.length === 3, { timeoutMs: 20_000, what: 'acks after InfluxDB is back' })
    expect(acked).toEqual([1, 2, 3])
    const series = await store.history({ deviceIds: ['wl-hydro-station'], metric: 'waterLevelCm', from: 0, to: Date.UTC(2027, 0, 1), window: 'raw' })
    expect(series[0]?.points.map((p) => p.mean)).toEqual([101, 102, 103])
    writer.close()
    await store.close()
  })

  it('dead-letters a reading storage refuses outright and acknowledges the rest', async () => {
    const store = createInfluxStore({ url: influx.url, database: 'conflict_test', timeoutMs: 2000 })
    await store.init()
    // Make waterLevelCm a string field in this shard so a float write of it is a type conflict (HTTP 400).
    const res = await fetch(`${influx.url}/write?db=conflict_test&precision=ms`, {
      method: 'POST',
      body: `water_level,deviceId=wl-other,kind=water_level,ward=my-tho waterLevelCm="broken" ${Date.UTC(2026, 10, 25)}`,
    })
    expect(res.status).toBe(204)
    const writer = createBatchWriter(store, { maxReadings: 10, maxWaitMs: 10 }, silentLogger)
    let acked = 0
    writer.add([reading(5)], [], () => acked++)
    await waitFor(() => acked === 1, { what: 'ack after the refused reading is dead-lettered' })
    const letters = await store.deadLetters({ code: 'storage_rejected' })
    expect(letters).toHaveLength(1)
    expect(letters[0]).toMatchObject({ code: 'storage_rejected', deviceId: 'wl-hydro-station' })
    expect(letters[0]!.message).toMatch(/conflict/)
    writer.close()
    await store.close()
  })
})
