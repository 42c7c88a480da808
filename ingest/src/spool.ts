import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { migrateSqlite, type SqliteMigration } from '@mytho/runtime'
import type { Rejection, StoredReading } from '@mytho/schema'

/*
 * The ingest's on-disk spool: batches accepted while storage is slow or down, kept in arrival order
 * until a drain writes them. An append is durable when it returns (WAL, synchronous=FULL: fsynced),
 * which is what lets the batch writer acknowledge those messages to the broker before storage has them.
 * Bounded by `maxItems` (readings + dead letters); a full spool refuses, and the caller stops acknowledging.
 */

export interface SpooledBatch {
  id: number
  readings: StoredReading[]
  rejections: Rejection[]
}

export interface SpoolOptions {
  /** SQLite file, e.g. DATA_DIR/spool.sqlite; created with its directory. */
  path: string
  /** Readings + dead letters held at most. A single batch larger than this is still taken into an empty spool. */
  maxItems: number
  /** ms since epoch; stamps a batch that holds nothing with a receive time. Default Date.now. */
  clock?: () => number
}

export class SpoolError extends Error {
  override name = 'SpoolError'
}

/** A spool file's schema versions (runtime's migrateSqlite); version 1 is the one from before versions were kept. */
export const SPOOL_MIGRATIONS: readonly SqliteMigration<Database.Database>[] = [
  {
    version: 1,
    description: 'spooled batches in arrival order',
    up(db) {
      db.exec(`CREATE TABLE IF NOT EXISTS spool (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        items INTEGER NOT NULL,
        oldest_received_at INTEGER NOT NULL,
        readings TEXT NOT NULL,
        rejections TEXT NOT NULL
      )`)
    },
  },
]

export function openSpool(opts: SpoolOptions) {
  mkdirSync(dirname(opts.path), { recursive: true, mode: 0o700 })
  const db = new Database(opts.path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  try {
    migrateSqlite(db, SPOOL_MIGRATIONS)
  } catch (err) {
    db.close()
    throw err
  }
  const insert = db.prepare('INSERT INTO spool (items, oldest_received_at, readings, rejections) VALUES (?, ?, ?, ?)')
  const oldest = db.prepare<[], { id: number; items: number; readings: string; rejections: string }>(
    'SELECT id, items, readings, rejections FROM spool ORDER BY id',
  )
  const delUpTo = db.prepare<[number], unknown>('DELETE FROM spool WHERE id <= ?')
  const totals = db.prepare<[], { items: number | null; batches: number; oldest: number | null }>(
    'SELECT sum(items) AS items, count(*) AS batches, min(oldest_received_at) AS oldest FROM spool',
  )
  let closed = false
  let items = 0
  let batches = 0
  let oldestReceivedAt: number | undefined
  const refresh = () => {
    const t = totals.get()!
    items = t.items ?? 0
    batches = t.batches
    oldestReceivedAt = t.oldest ?? undefined
  }
  refresh()

  return {
    /** Readings + dead letters waiting. */
    get items() {
      return items
    },
    get batches() {
      return batches
    },
    /** receivedAt (epoch ms) of the oldest reading or dead letter waiting; undefined when empty. */
    get oldestReceivedAt() {
      return oldestReceivedAt
    },
    /** Whether `count` more items fit. */
    hasRoomFor(count: number): boolean {
      return items === 0 || items + count <= opts.maxItems
    },
    /** Appends durably; false (nothing written) when there is no room. */
    append(readings: readonly StoredReading[], rejections: readonly Rejection[]): boolean {
      if (closed) throw new SpoolError(`spool ${opts.path} is closed`)
      const count = readings.length + rejections.length
      if (!this.hasRoomFor(count)) return false
      let oldest = Number.POSITIVE_INFINITY
      for (const r of readings) oldest = Math.min(oldest, r.receivedAt)
      for (const r of rejections) oldest = Math.min(oldest, r.receivedAt)
      if (!Number.isFinite(oldest)) oldest = (opts.clock ?? Date.now)()
      insert.run(count, oldest, JSON.stringify(readings), JSON.stringify(rejections))
      items += count
      batches++
      oldestReceivedAt = oldestReceivedAt === undefined ? oldest : Math.min(oldestReceivedAt, oldest)
      return true
    },
    /**
     * The oldest batches, merged, up to about `maxItems` (at least one batch), left in place until
     * `remove(id)`; `id` is the last batch taken.
     */
    peek(maxItems = Number.POSITIVE_INFINITY): SpooledBatch | undefined {
      if (batches === 0) return undefined
      const out: SpooledBatch = { id: 0, readings: [], rejections: [] }
      let taken = 0
      for (const row of oldest.iterate()) {
        if (taken > 0 && taken + row.items > maxItems) break
        for (const r of JSON.parse(row.readings) as StoredReading[]) out.readings.push(r)
        for (const r of JSON.parse(row.rejections) as Rejection[]) out.rejections.push(r)
        out.id = row.id
        taken += row.items
      }
      return taken === 0 && out.id === 0 ? undefined : out
    },
    /** Deletes every batch up to and including `id`, once storage holds them. */
    remove(id: number): void {
      delUpTo.run(id)
      refresh()
    },
    close(): void {
      if (closed) return
      closed = true
      db.close()
    },
  }
}
export type Spool = ReturnType<typeof openSpool>
