import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { StoredReading } from '@mytho/schema'
import { silentLogger } from '@mytho/runtime'
import { createSqliteStore } from '@mytho/storage'
import { makeTempDir, waitFor } from '@mytho/testing'
import { createBatchWriter } from './batch-writer.ts'
import { openSpool } from './spool.ts'

const reading = (ts: number): StoredReading => ({
  deviceId: 'wl-bd-my-tho',
  kind: 'water_level',
  ward: 'my-tho',
  ts,
  receivedAt: ts + 5,
  tsSource: 'device',
  fields: { waterLevelCm: 150 },
})

describe('batch writer drain', () => {
  const teardown: (() => unknown)[] = []
  afterEach(async () => {
    for (const t of teardown.splice(0).reverse()) await t()
  })

  it('removes a spooled batch only once its alert state is committed, and keeps it when closed before', async () => {
    const dir = makeTempDir('mytho-writer-')
    teardown.push(() => dir.cleanup())
    const store = createSqliteStore({ path: join(dir.path, 'readings.sqlite') })
    await store.init()
    teardown.push(() => store.close())
    const spoolPath = join(dir.path, 'spool.sqlite')
    const leftOver = openSpool({ path: spoolPath, maxItems: 100 })
    leftOver.append([reading(1_000), reading(2_000)], [])
    leftOver.close()

    // The commit the drain waits for: held open until the test says it is in Redis.
    let commit!: () => void
    let judged: readonly StoredReading[] = []
    const spool = openSpool({ path: spoolPath, maxItems: 100 })
    teardown.push(() => spool.close())
    const writer = createBatchWriter(
      store,
      {
        maxReadings: 10,
        maxWaitMs: 0,
        spool,
        onStored: (r) => (judged = r),
        settled: () => new Promise<void>((resolve) => (commit = resolve)),
      },
      silentLogger,
    )
    writer.start()
    await waitFor(() => judged.length === 2, { what: 'the spooled batch stored and handed to the alerting' })
    expect(spool.batches).toBe(1)
    commit()
    await writer.draining
    expect(spool.batches).toBe(0)

    spool.append([reading(3_000)], [])
    const second = createBatchWriter(store, { maxReadings: 10, maxWaitMs: 0, spool, settled: () => new Promise<void>(() => {}) }, silentLogger)
    second.start()
    await waitFor(async () => (await store.latest()).some((r) => r.ts === 3_000), { what: 'the second batch stored' })
    await second.close()
    expect(spool.batches).toBe(1)
  })
})

describe('batch writer timing', () => {
  it('a message that arrives during a write waits for its batch from its arrival, not again from the end of that write', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] })
    const dir = makeTempDir('mytho-writer-')
    const store = createSqliteStore({ path: join(dir.path, 'readings.sqlite') })
    try {
      await store.init()
      // The real store, with its first write held until the test lets it go (a slow InfluxDB).
      let release: () => void = () => undefined
      const held = new Promise<void>((r) => (release = r))
      let writes = 0
      const slow = Object.create(store) as typeof store
      slow.writeReadings = async (readings) => {
        if (writes++ === 0) await held
        return store.writeReadings(readings)
      }
      const writer = createBatchWriter(slow, { maxReadings: 1000, maxWaitMs: 200 }, silentLogger)
      const acked: string[] = []
      const t0 = Date.UTC(2026, 10, 26)
      writer.add([reading(t0)], [], () => acked.push('first'))
      await vi.advanceTimersByTimeAsync(200) // the first batch is written, and held
      await vi.advanceTimersByTimeAsync(100)
      writer.add([reading(t0 + 1)], [], () => acked.push('second')) // arrives 300 ms in, during the held write
      await vi.advanceTimersByTimeAsync(300) // it has waited 300 ms (> 200) when the write ends
      release()
      for (let i = 0; i < 5; i++) await vi.advanceTimersByTimeAsync(1)
      expect(acked).toEqual(['first', 'second'])
      expect((await store.latest()).map((r) => r.ts)).toEqual([t0 + 1])
    } finally {
      vi.useRealTimers()
      await store.close()
      dir.cleanup()
    }
  })
})
