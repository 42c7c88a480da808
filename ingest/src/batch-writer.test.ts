import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
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
