import { makeTempDir } from '@mytho/testing'
import { join } from 'node:path'
import { afterAll, describe, expect, it, onTestFinished } from 'vitest'
import { StorageError } from './port.ts'
import { reading, rejection, runStoreContract } from './contract.test-suite.ts'
import { createSqliteStore, openDatabase } from './sqlite-store.ts'

const tmp = makeTempDir('mytho-sqlite-store-')
afterAll(() => tmp.cleanup())

let n = 0
const freshPath = () => join(tmp.path, `store-${++n}.sqlite`)

runStoreContract('SQLite', async (opts) => {
  const store = createSqliteStore({ path: freshPath(), ...opts })
  return { store, cleanup: () => store.close() }
})

describe('SQLite adapter', () => {
  it('keeps readings and dead letters in the file across close and reopen', async () => {
    const path = freshPath()
    const first = createSqliteStore({ path })
    await first.init()
    await first.writeReadings([reading({ seq: 3 })])
    await first.writeDeadLetters([rejection()])
    await first.close()

    const again = createSqliteStore({ path })
    onTestFinished(() => again.close())
    expect(await again.latest()).toEqual([reading({ seq: 3 })])
    expect((await again.deadLetters()).map(({ id: _id, ...r }) => r)).toEqual([rejection()])
  })

  it('is durable when a write resolves: WAL journal with synchronous=FULL (2), not NORMAL', () => {
    const db = openDatabase(freshPath())
    onTestFinished(() => {
      db.close()
    })
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(db.pragma('synchronous', { simple: true })).toBe(2)
  })

  it('a redelivered reading keeps the first stored copy', async () => {
    const store = createSqliteStore({ path: freshPath() })
    onTestFinished(() => store.close())
    await store.writeReadings([reading({ receivedAt: 1_800_000_000_001, fields: { waterLevelCm: 1 } })])
    await store.writeReadings([reading({ receivedAt: 1_800_000_000_002, fields: { waterLevelCm: 2 } })])
    expect(await store.latest()).toEqual([reading({ receivedAt: 1_800_000_000_001, fields: { waterLevelCm: 1 } })])
  })

  it('prunes raw rows and 5-minute roll-ups past their retention; the hourly roll-ups keep the history', async () => {
    const HOUR = 3_600_000
    const DAY = 24 * HOUR
    const t0 = reading().ts
    let now = t0 + DAY
    const store = createSqliteStore({ path: freshPath(), retention: { rawDays: 2, fiveMinuteDays: 5, hourDays: 0 }, now: () => now })
    onTestFinished(() => store.close())
    const q = (window: 'raw' | '5m' | '1h') =>
      store
        .history({ deviceIds: ['wl-tien-01'], metric: 'waterLevelCm', from: t0, to: t0 + HOUR, window })
        .then((s) => s[0]!.points.map((p) => [p.ts, p.mean, p.count]))
    await store.writeReadings([reading({ ts: t0, fields: { waterLevelCm: 10 } }), reading({ ts: t0 + 60_000, fields: { waterLevelCm: 20 } })])
    expect(await q('raw')).toEqual([
      [t0, 10, 1],
      [t0 + 60_000, 20, 1],
    ])
    now = t0 + 3 * DAY // past raw retention: the next write prunes
    await store.writeReadings([reading({ ts: now, fields: { waterLevelCm: 30 } })])
    expect(await q('raw')).toEqual([])
    expect(await q('5m')).toEqual([[t0, 15, 2]])
    expect(await q('1h')).toEqual([[t0, 15, 2]])
    expect((await store.latest()).map((r) => r.ts)).toEqual([now])
    now = t0 + 6 * DAY // past 5m retention too
    await store.writeReadings([reading({ ts: now, fields: { waterLevelCm: 30 } })])
    expect(await q('5m')).toEqual([])
    expect(await q('1h')).toEqual([[t0, 15, 2]])
  })

  it('a database from before roll-ups gets them built from its readings when opened', async () => {
    const path = freshPath()
    const old = openDatabase(path)
    // As a file from before roll-ups: without them, and from before schema versions (user_version 0).
    old.exec('DROP TABLE rollup_5m; DROP TABLE rollup_1h; PRAGMA user_version = 0')
    const t0 = reading().ts
    old.prepare("INSERT INTO readings VALUES ('wl-tien-01', ?, 'water_level', 'my-tho', 'device', ?, NULL, '{\"waterLevelCm\":4,\"batteryV\":12}')").run(t0, t0)
    old.prepare("INSERT INTO readings VALUES ('wl-tien-01', ?, 'water_level', 'my-tho', 'device', ?, NULL, '{\"waterLevelCm\":6}')").run(t0 + 1, t0 + 1)
    old.close()
    const store = createSqliteStore({ path, retention: { rawDays: 1 }, now: () => t0 + 30 * 86_400_000 })
    onTestFinished(() => store.close())
    const [series] = await store.history({ deviceIds: ['wl-tien-01'], metric: 'waterLevelCm', from: t0, to: t0 + 3_600_000, window: '1h' })
    expect(series!.points).toEqual([{ ts: t0, mean: 5, min: 4, max: 6, count: 2 }])
  })

  it('works without an explicit init()', async () => {
    const store = createSqliteStore({ path: freshPath() })
    onTestFinished(() => store.close())
    await store.writeReadings([reading()])
    expect(await store.latest()).toHaveLength(1)
  })

  it('a file that cannot be opened fails as a StorageError', async () => {
    const store = createSqliteStore({ path: join(tmp.path, 'no-such-dir', 'x.sqlite') })
    onTestFinished(() => store.close())
    await expect(store.init()).rejects.toBeInstanceOf(StorageError)
  })
})
