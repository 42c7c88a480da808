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

runStoreContract('SQLite', async () => {
  const store = createSqliteStore({ path: freshPath() })
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
    expect(await again.deadLetters()).toEqual([rejection()])
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
