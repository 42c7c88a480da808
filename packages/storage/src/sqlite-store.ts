import type { HistoryPoint, HistoryQuery, HistorySeries, Rejection, StoredReading } from '@mytho/schema'
import { LOCAL_UTC_OFFSET_MS, deviceKinds, metricsByKind, windowMs } from '@mytho/schema'
import { migrateSqlite, type SqliteMigration } from '@mytho/runtime'
import Database from 'better-sqlite3'
import { StorageError, type ReadingStore, type ReplayPoint } from './port.ts'
import { DAY_MS, FIVE_MIN_MS, HOUR_MS, bucketStart, planHistory, type HistorySource, type RetentionOptions } from './retention.ts'
import {
  checkReadings,
  isStorableDeviceId,
  parseDeadLetterBucketQuery,
  parseDeadLetterCountQuery,
  parseDeadLetterQuery,
  parseHistoryQuery,
  parseReplayChangesQuery,
  parseReplayStateQuery,
  type DeadLetterCountFilter,
  type DeadLetterFilter,
} from './validate.ts'

export interface SqliteStoreOptions {
  /** File path of the database; created if absent. `:memory:` works for throwaway use. */
  path: string
  /** How long a write waits for another process's write lock before failing retryable, ms. Default 5,000. */
  busyTimeoutMs?: number
  /** How long raw readings and roll-ups are kept (days, 0 = forever). Default: all kept forever. */
  retention?: RetentionOptions
  /** The clock retention is measured against, epoch ms. Default Date.now. */
  now?: () => number
}

/** Pruning deletes at most this often, ms: it runs after a write, and writes come every few seconds. */
const PRUNE_EVERY_MS = 60_000

/*
 * The SQLite adapter: one file, no server, for a laptop demo or a small deployment.
 *
 * Durability: WAL with synchronous=FULL fsyncs the WAL on every commit, so a resolved write survives
 * power loss. synchronous=NORMAL in WAL mode only survives a process crash (the last commits can be
 * lost when the OS goes down), which breaks the port's "durable when resolved" promise.
 *
 * Dedup: readings are keyed by (device_id, ts) and written with INSERT OR IGNORE, so a redelivered
 * reading keeps the first stored copy.
 *
 * latest(): a small `latest` table (device → newest ts) is updated in the same transaction as the
 * readings; latest() is then one primary-key lookup per device instead of a scan for max(ts).
 *
 * Roll-ups: rollup_5m and rollup_1h hold sum/min/max/count per (device, metric, bucket start in UTC ms), kept in
 * the same transaction as the readings, and only for readings whose INSERT OR IGNORE stored a row, so a
 * redelivered reading is never counted twice. mean = sum/count, so a window read from a roll-up equals the
 * one computed from raw. A database from before roll-ups is backfilled from its readings when first opened.
 * Retention: after a write (at most once a minute) raw rows, 5m and 1h rows past their retention are deleted;
 * history() reads the roll-ups for the part of a range whose raw rows are gone (see planHistory).
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS readings (
  device_id   TEXT    NOT NULL,
  ts          INTEGER NOT NULL,
  kind        TEXT    NOT NULL,
  ward        TEXT    NOT NULL,
  ts_source   TEXT    NOT NULL,
  received_at INTEGER NOT NULL,
  seq         INTEGER,
  fields      TEXT    NOT NULL, -- JSON object of numbers, as in StoredReading.fields
  PRIMARY KEY (device_id, ts)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS latest (
  device_id TEXT    NOT NULL PRIMARY KEY,
  ts        INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS rollup_5m (
  device_id    TEXT    NOT NULL,
  metric       TEXT    NOT NULL,
  bucket_start INTEGER NOT NULL, -- UTC ms, a multiple of 300,000
  sum          REAL    NOT NULL,
  min          REAL    NOT NULL,
  max          REAL    NOT NULL,
  count        INTEGER NOT NULL,
  PRIMARY KEY (device_id, metric, bucket_start)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_1h (
  device_id    TEXT    NOT NULL,
  metric       TEXT    NOT NULL,
  bucket_start INTEGER NOT NULL, -- UTC ms, a multiple of 3,600,000
  sum          REAL    NOT NULL,
  min          REAL    NOT NULL,
  max          REAL    NOT NULL,
  count        INTEGER NOT NULL,
  PRIMARY KEY (device_id, metric, bucket_start)
) STRICT, WITHOUT ROWID;
-- For pruning by age; a write changes bucket_start only when it opens a new bucket, so these cost little.
CREATE INDEX IF NOT EXISTS rollup_5m_by_time ON rollup_5m (bucket_start);
CREATE INDEX IF NOT EXISTS rollup_1h_by_time ON rollup_1h (bucket_start);

CREATE TABLE IF NOT EXISTS dead_letters (
  id          INTEGER PRIMARY KEY,
  received_at INTEGER NOT NULL,
  code        TEXT    NOT NULL,
  device_id   TEXT,
  topic       TEXT    NOT NULL,
  message     TEXT    NOT NULL,
  issues      TEXT, -- JSON array, when the schema said no
  raw         TEXT    NOT NULL,
  raw_bytes   INTEGER NOT NULL
) STRICT;
-- The rowid is implicitly the last column of every index, so each of these also serves ORDER BY received_at DESC, id DESC.
CREATE INDEX IF NOT EXISTS dead_letters_by_device ON dead_letters (device_id, received_at);
CREATE INDEX IF NOT EXISTS dead_letters_by_code ON dead_letters (code, received_at);
CREATE INDEX IF NOT EXISTS dead_letters_by_time ON dead_letters (received_at);
`

const READING_COLUMNS = 'r.device_id, r.ts, r.kind, r.ward, r.ts_source, r.received_at, r.seq, r.fields'

interface ReadingRow {
  device_id: string
  ts: number
  kind: StoredReading['kind']
  ward: StoredReading['ward']
  ts_source: StoredReading['tsSource']
  received_at: number
  seq: number | null
  fields: string
}

interface DeadLetterRow {
  id: number
  received_at: number
  code: Rejection['code']
  device_id: string | null
  topic: string
  message: string
  issues: string | null
  raw: string
  raw_bytes: number
}

/** SQLite result codes a later attempt can get past: another writer holds the lock, or the disk is full or failing. */
const RETRYABLE_SQLITE = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN)/

function toStorageError(err: unknown, what: string): StorageError {
  if (err instanceof StorageError) return err
  const code = (err as { code?: unknown })?.code
  const retryable = typeof code === 'string' && RETRYABLE_SQLITE.test(code)
  return new StorageError(`sqlite ${what} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err, retryable })
}

export function createSqliteStore(opts: SqliteStoreOptions): ReadingStore {
  let db: Database.Database | undefined
  let stmts: ReturnType<typeof prepare> | undefined
  let closed = false
  const now = opts.now ?? Date.now
  const rawDays = opts.retention?.rawDays ?? 0
  const keepDays = { raw: rawDays, '5m': opts.retention?.fiveMinuteDays ?? 0, '1h': opts.retention?.hourDays ?? 0 }
  let lastPrune = -Infinity

  /** Deletes what is past retention, at most once per PRUNE_EVERY_MS. */
  function prune(s: ReturnType<typeof prepare>): void {
    const t = now()
    if (t - lastPrune < PRUNE_EVERY_MS) return
    lastPrune = t
    const before = (days: number) => (days > 0 ? t - days * DAY_MS : undefined)
    s.prune(before(keepDays.raw), before(keepDays['5m']), before(keepDays['1h']))
  }

  /** Opens and migrates on first use, so a store works whether or not the caller ran init() first. */
  function ready(): ReturnType<typeof prepare> {
    if (closed) throw new StorageError(`sqlite store ${opts.path} is closed`, { retryable: false })
    if (stmts) return stmts
    const d = openDatabase(opts.path, opts.busyTimeoutMs)
    try {
      stmts = prepare(d)
    } catch (err) {
      d.close()
      throw err
    }
    db = d
    return stmts
  }

  /** Runs a synchronous database call as the async port method, every failure as a StorageError. */
  async function run<T>(what: string, fn: (s: ReturnType<typeof prepare>) => T): Promise<T> {
    try {
      return fn(ready())
    } catch (err) {
      throw toStorageError(err, what)
    }
  }

  return {
    init: () => run('init', prune),

    writeReadings: (readings) =>
      run('writeReadings', (s) => {
        if (readings.length === 0) return
        checkReadings(readings)
        s.writeReadings(readings)
        prune(s)
      }),

    // Roll-ups are kept current by every write (and backfilled on first open), so there is nothing to catch up.
    rollUp: (from, to) => run('rollUp', () => void [from, to]),

    // Retention and roll-ups are this store's own work (on every write), so nothing asked can be refused.
    status: () => ({ backend: 'sqlite', rollups: 'built_in', retention: 'built_in', warnings: [] }),

    latest: (deviceIds) =>
      run('latest', (s) => {
        const rows = deviceIds === undefined ? s.latestAll.all() : s.latestSome.all(JSON.stringify(deviceIds.filter(isStorableDeviceId)))
        return rows.map(toReading)
      }),

    history: (query) =>
      run('history', (s) => {
        const q = parseHistoryQuery(query)
        const parts = planHistory(q.window, q.from, q.to, now(), rawDays)
        return q.deviceIds.map((deviceId) => seriesOf(s, q, deviceId, parts))
      }),

    // Devices are walked from `latest` (every device with raw readings kept), each one a primary-key or index seek.
    stateAt: (query) =>
      run('stateAt', (s) => {
        const q = parseReplayStateQuery(query)
        if (q.resolution === 'raw') return s.stateRaw.all({ at: q.at, lookback: q.lookbackMs }).map(toPoint)
        // The bucket containing `at` or the newest before it that starts after at - lookback, as InfluxDB picks it in
        // rp_5m: found by the newest reading before that bucket's end.
        const lo = bucketStart(q.at - q.lookbackMs, FIVE_MIN_MS) + FIVE_MIN_MS
        const hi = bucketStart(q.at, FIVE_MIN_MS) + FIVE_MIN_MS
        return bucketPoints(s.state5m.all({ lo, hi }))
      }),

    changes: (query) =>
      run('changes', (s) => {
        const q = parseReplayChangesQuery(query)
        const params = { from: q.from, to: q.to }
        return q.resolution === 'raw' ? s.changesRaw.all(params).map(toPoint) : bucketPoints(s.changes5m.all({ ...params, metrics: KIND_METRICS }))
      }),

    writeDeadLetters: (rejections) =>
      run('writeDeadLetters', (s) => {
        if (rejections.length > 0) s.writeDeadLetters(rejections)
      }),

    deadLetters: (query) =>
      run('deadLetters', (s) => {
        const q = parseDeadLetterQuery(query)
        return s.deadLetters(q).map(toRejection)
      }),

    deadLetterCounts: (query) =>
      run('deadLetterCounts', (s) => {
        const counts: Record<string, number> = {}
        for (const row of s.deadLetterCounts(parseDeadLetterCountQuery(query))) counts[row.code] = row.n
        return counts
      }),

    deadLetterBuckets: (query) =>
      run('deadLetterBuckets', (s) => {
        const q = parseDeadLetterBucketQuery(query)
        const width = q.bucket === 'hour' ? HOUR_MS : DAY_MS
        // local days start at midnight UTC+7, as history's 1d windows
        const offset = q.bucket === 'day' ? LOCAL_UTC_OFFSET_MS : 0
        return s.deadLetterBuckets(q, offset, width).map((r) => ({ start: r.b * width - offset, code: r.code, count: r.n }))
      }),

    deleteDeadLetters: (ids) =>
      run('deleteDeadLetters', (s) => {
        const rowIds = ids.filter((id) => /^[1-9]\d{0,15}$/.test(id)).map(Number)
        return rowIds.length === 0 ? 0 : s.deleteDeadLetters(rowIds)
      }),

    async close() {
      closed = true
      stmts = undefined
      db?.close()
      db = undefined
    },
  }
}

/** Opens the file with the durability settings above and brings its schema to the newest version (READINGS_MIGRATIONS). */
export function openDatabase(path: string, busyTimeoutMs = 5_000): Database.Database {
  const db = new Database(path, { timeout: busyTimeoutMs })
  try {
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = FULL')
    migrateSqlite(db, READINGS_MIGRATIONS)
    return db
  } catch (err) {
    db.close()
    throw err
  }
}

const ROLLUPS = [
  ['rollup_5m', FIVE_MIN_MS],
  ['rollup_1h', HOUR_MS],
] as const

/**
 * readings.sqlite's schema versions (runtime's migrateSqlite). Version 1 is the schema of every file written before
 * versions were kept (user_version 0): the tables are created when absent, and a file from before roll-ups existed
 * gets them backfilled from its readings. A new version goes at the end, never edits one already released.
 */
export const READINGS_MIGRATIONS: readonly SqliteMigration<Database.Database>[] = [
  {
    version: 1,
    description: 'readings, latest, 5-minute and hourly roll-ups, dead letters',
    up(db) {
      const hadReadings = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'readings'").get() !== undefined
      const hadRollups = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'rollup_5m'").get() !== undefined
      db.exec(SCHEMA)
      if (hadReadings && !hadRollups) for (const [table, width] of ROLLUPS) db.exec(backfillSql(table, width))
    },
  },
]

/** Builds a roll-up table from the raw readings already stored (a database from before roll-ups existed). */
function backfillSql(table: string, width: number): string {
  return `INSERT INTO ${table} (device_id, metric, bucket_start, sum, min, max, count)
    SELECT r.device_id, j.key, (r.ts / ${width}) * ${width}, sum(j.value), min(j.value), max(j.value), count(*)
    FROM readings r, json_each(r.fields) j WHERE j.type IN ('integer', 'real')
    GROUP BY r.device_id, j.key, r.ts / ${width}`
}

function prepare(db: Database.Database) {
  const [add5m, add1h] = ROLLUPS.map(([table]) =>
    db.prepare<[string, string, number, number, number, number]>(
      `INSERT INTO ${table} (device_id, metric, bucket_start, sum, min, max, count) VALUES (?, ?, ?, ?, ?, ?, 1)
       ON CONFLICT DO UPDATE SET sum = ${table}.sum + excluded.sum, min = min(${table}.min, excluded.min),
         max = max(${table}.max, excluded.max), count = ${table}.count + 1`,
    ),
  ) as [Database.Statement<[string, string, number, number, number, number]>, Database.Statement<[string, string, number, number, number, number]>]
  const devices = db.prepare<[], { device_id: string }>('SELECT device_id FROM latest')
  // Per device, so each delete is a primary-key range instead of a scan of every reading.
  const pruneRaw = db.prepare<[string, number]>('DELETE FROM readings WHERE device_id = ? AND ts < ?')
  const pruneLatest = db.prepare<[number]>('DELETE FROM latest WHERE ts < ?')
  const prune5m = db.prepare<[number]>('DELETE FROM rollup_5m WHERE bucket_start < ?')
  const prune1h = db.prepare<[number]>('DELETE FROM rollup_1h WHERE bucket_start < ?')
  const rollupWindows = (table: string) =>
    db.prepare<
      [{ offset: number; width: number; metric: string; deviceId: string; from: number; to: number; grain: number }],
      { bucket: number; sum: number; min: number; max: number; count: number }
    >(
      // A bucket counts when it overlaps [from, to): a roll-up cannot split its bucket, so `from` inside one takes all of it.
      `SELECT (bucket_start + CAST(:offset AS INTEGER)) / CAST(:width AS INTEGER) AS bucket, sum(sum) AS sum, min(min) AS min, max(max) AS max, sum(count) AS count
       FROM ${table} WHERE device_id = :deviceId AND metric = :metric AND bucket_start > :from - :grain AND bucket_start < :to
       GROUP BY bucket ORDER BY bucket`,
    )
  const insertReading = db.prepare<[string, number, string, string, string, number, number | null, string]>(
    'INSERT OR IGNORE INTO readings (device_id, ts, kind, ward, ts_source, received_at, seq, fields) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  )
  const bumpLatest = db.prepare<[string, number]>(
    'INSERT INTO latest (device_id, ts) VALUES (?, ?) ON CONFLICT (device_id) DO UPDATE SET ts = excluded.ts WHERE excluded.ts > latest.ts',
  )
  const deleteDeadLetter = db.prepare<[number]>('DELETE FROM dead_letters WHERE id = ?')
  const insertDeadLetter = db.prepare<[number, string, string | null, string, string, string | null, string, number]>(
    'INSERT INTO dead_letters (received_at, code, device_id, topic, message, issues, raw, raw_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  )
  return {
    writeReadings: db.transaction((readings: readonly StoredReading[]) => {
      for (const r of readings) {
        const { changes } = insertReading.run(r.deviceId, r.ts, r.kind, r.ward, r.tsSource, r.receivedAt, r.seq ?? null, JSON.stringify(r.fields))
        if (changes === 0) continue // a redelivery: already counted in the roll-ups
        bumpLatest.run(r.deviceId, r.ts)
        const b5 = bucketStart(r.ts, FIVE_MIN_MS)
        const b1 = bucketStart(r.ts, HOUR_MS)
        for (const [metric, v] of Object.entries(r.fields)) {
          add5m.run(r.deviceId, metric, b5, v, v, v)
          add1h.run(r.deviceId, metric, b1, v, v, v)
        }
      }
    }),
    prune: db.transaction((raw: number | undefined, fiveMin: number | undefined, hour: number | undefined) => {
      if (raw !== undefined) {
        for (const { device_id } of devices.all()) pruneRaw.run(device_id, raw)
        pruneLatest.run(raw)
      }
      if (fiveMin !== undefined) prune5m.run(fiveMin)
      if (hour !== undefined) prune1h.run(hour)
    }),
    writeDeadLetters: db.transaction((rejections: readonly Rejection[]) => {
      for (const r of rejections)
        insertDeadLetter.run(
          r.receivedAt,
          r.code,
          r.deviceId ?? null,
          r.topic,
          r.message,
          r.issues === undefined ? null : JSON.stringify(r.issues),
          r.raw,
          r.rawBytes,
        )
    }),
    latestAll: db.prepare<[], ReadingRow>(
      `SELECT ${READING_COLUMNS} FROM latest l JOIN readings r ON r.device_id = l.device_id AND r.ts = l.ts ORDER BY l.device_id`,
    ),
    latestSome: db.prepare<[string], ReadingRow>(
      `SELECT ${READING_COLUMNS} FROM latest l JOIN readings r ON r.device_id = l.device_id AND r.ts = l.ts
       WHERE l.device_id IN (SELECT value FROM json_each(?)) ORDER BY l.device_id`,
    ),
    raw: db.prepare<[{ path: string; deviceId: string; from: number; to: number }], { ts: number; v: number }>(
      `SELECT ts, v FROM (SELECT ts, json_extract(fields, :path) AS v FROM readings WHERE device_id = :deviceId AND ts >= :from AND ts < :to)
       WHERE v IS NOT NULL ORDER BY ts`,
    ),
    windows: db.prepare<
      [{ offset: number; width: number; path: string; deviceId: string; from: number; to: number }],
      { bucket: number; mean: number; min: number; max: number; count: number }
    >(
      // Numbers bind as REAL in better-sqlite3; the casts keep the window arithmetic in integers.
      `SELECT (ts + CAST(:offset AS INTEGER)) / CAST(:width AS INTEGER) AS bucket, avg(v) AS mean, min(v) AS min, max(v) AS max, count(v) AS count
       FROM (SELECT ts, json_extract(fields, :path) AS v FROM readings WHERE device_id = :deviceId AND ts >= :from AND ts < :to)
       WHERE v IS NOT NULL GROUP BY bucket ORDER BY bucket`,
    ),
    stateRaw: db.prepare<[{ at: number; lookback: number }], PointRow>(
      `SELECT r.device_id, r.ts, r.fields FROM latest l CROSS JOIN readings r ON r.device_id = l.device_id AND r.ts =
         (SELECT ts FROM readings WHERE device_id = l.device_id AND ts <= :at AND ts > :at - :lookback ORDER BY ts DESC LIMIT 1)
       ORDER BY l.device_id`,
    ),
    // The bucket is found by the newest raw reading in it (a primary-key seek per device), its rows (one per metric
    // rolled up in it, so a reading without batteryV does not hide the bucket's batteryV) by the time index. CROSS
    // JOIN keeps that order: without statistics the planner would scan every roll-up row instead. Rows as arrays
    // (raw): ~15 % of the jump went into naming 10,000 rows' columns.
    state5m: db
      .prepare<[{ lo: number; hi: number }], BucketTuple>(
        `SELECT b.device_id, b.bucket_start, b.metric, b.sum, b.min, b.max, b.count
         FROM latest l CROSS JOIN rollup_5m b ON b.device_id = l.device_id AND b.bucket_start =
           (SELECT (ts / ${FIVE_MIN_MS}) * ${FIVE_MIN_MS} FROM readings WHERE device_id = l.device_id AND ts >= :lo AND ts < :hi ORDER BY ts DESC LIMIT 1)
         ORDER BY l.device_id`,
      )
      .raw(true),
    changesRaw: db.prepare<[{ from: number; to: number }], PointRow>(
      `SELECT r.device_id, r.ts, r.fields FROM latest l CROSS JOIN readings r ON r.device_id = l.device_id AND r.ts >= :from AND r.ts < :to
       ORDER BY r.ts, r.device_id`,
    ),
    // Per device and metric of its kind (its newest reading's kind), a primary-key range.
    changes5m: db
      .prepare<[{ from: number; to: number; metrics: string }], BucketTuple>(
        `SELECT b.device_id, b.bucket_start, b.metric, b.sum, b.min, b.max, b.count
       FROM latest l CROSS JOIN readings r ON r.device_id = l.device_id AND r.ts = l.ts
       CROSS JOIN json_each(:metrics, '$.' || r.kind) k
       CROSS JOIN rollup_5m b ON b.device_id = l.device_id AND b.metric = k.value AND b.bucket_start >= :from AND b.bucket_start < :to
       ORDER BY b.bucket_start, b.device_id`,
      )
      .raw(true),
    rollup: { '5m': rollupWindows('rollup_5m'), '1h': rollupWindows('rollup_1h') },
    deadLetters: deadLetterQueries(db),
    deadLetterCounts: (q: DeadLetterCountFilter) => {
      const { where, params } = deadLetterWhere(q)
      return cached<{ code: string; n: number }>(db, `SELECT code, count(*) AS n FROM dead_letters ${where} GROUP BY code`).all(params)
    },
    deadLetterBuckets: (q: DeadLetterCountFilter, offset: number, width: number) => {
      const { where, params } = deadLetterWhere(q)
      // Numbers bind as REAL in better-sqlite3; the casts keep the window arithmetic in integers.
      const sql = `SELECT (received_at + CAST(:offset AS INTEGER)) / CAST(:width AS INTEGER) AS b, code, count(*) AS n FROM dead_letters ${where}
        GROUP BY b, code ORDER BY b, code`
      return cached<{ b: number; code: Rejection['code']; n: number }>(db, sql).all({ ...params, offset, width })
    },
    deleteDeadLetters: db.transaction((ids: readonly number[]) => {
      let n = 0
      for (const id of ids) n += deleteDeadLetter.run(id).changes
      return n
    }),
  }
}

/**
 * Dead-letter queries, one prepared statement per combination of filters (16 at most): a fixed statement
 * with `(:x IS NULL OR col = :x)` would keep SQLite from using the indexes.
 */
function deadLetterQueries(db: Database.Database) {
  return (q: DeadLetterFilter): DeadLetterRow[] => {
    const { where, params } = deadLetterWhere(q)
    const sql = `SELECT id, received_at, code, device_id, topic, message, issues, raw, raw_bytes FROM dead_letters
      ${where} ORDER BY received_at DESC, id DESC LIMIT :limit`
    return cached<DeadLetterRow>(db, sql).all({ ...params, limit: q.limit })
  }
}

/** The WHERE of the filters given, naming only those (so SQLite can pick an index), and its parameters. */
function deadLetterWhere(q: Partial<Pick<DeadLetterFilter, 'deviceId' | 'code' | 'from' | 'to'>>): { where: string; params: Record<string, string | number> } {
  const where: string[] = []
  const params: Record<string, string | number> = {}
  const filters = { deviceId: 'device_id = :deviceId', code: 'code = :code', from: 'received_at >= :from', to: 'received_at < :to' } as const
  for (const key of ['deviceId', 'code', 'from', 'to'] as const) {
    const value = q[key]
    if (value === undefined) continue
    where.push(filters[key])
    params[key] = value
  }
  return { where: where.length ? `WHERE ${where.join(' AND ')}` : '', params }
}

/** Prepared statements by SQL text, per database: the filter combinations are few (16 at most per query). */
const statementCache = new WeakMap<Database.Database, Map<string, Database.Statement<[Record<string, string | number>], unknown>>>()
function cached<Row>(db: Database.Database, sql: string): Database.Statement<[Record<string, string | number>], Row> {
  let cache = statementCache.get(db)
  if (!cache) statementCache.set(db, (cache = new Map()))
  let stmt = cache.get(sql)
  if (!stmt) cache.set(sql, (stmt = db.prepare<[Record<string, string | number>], unknown>(sql)))
  return stmt as Database.Statement<[Record<string, string | number>], Row>
}

function seriesOf(
  s: ReturnType<typeof prepare>,
  q: HistoryQuery,
  deviceId: string,
  parts: readonly { source: HistorySource; from: number; to: number }[],
): HistorySeries {
  const points = parts.flatMap((part) => pointsOf(s, q, deviceId, part.source, part.from, part.to))
  return { deviceId, metric: q.metric, window: q.window, points }
}

function pointsOf(s: ReturnType<typeof prepare>, q: HistoryQuery, deviceId: string, source: HistorySource, from: number, to: number): HistoryPoint[] {
  const base = { path: `$.${q.metric}`, deviceId, from, to }
  if (q.window === 'raw') return s.raw.all(base).map(({ ts, v }) => ({ ts, mean: v, min: v, max: v, count: 1 }))
  const width = windowMs[q.window]
  // 1d windows start at local midnight (UTC+7); shorter ones are aligned to the UTC epoch, as InfluxDB's GROUP BY time().
  const offset = q.window === '1d' ? LOCAL_UTC_OFFSET_MS : 0
  if (source === 'raw')
    return s.windows.all({ ...base, offset, width }).map(({ bucket, mean, min, max, count }) => ({ ts: bucket * width - offset, mean, min, max, count }))
  const grain = source === '5m' ? FIVE_MIN_MS : HOUR_MS
  return s.rollup[source]
    .all({ offset, width, metric: q.metric, deviceId, from, to, grain })
    .map(({ bucket, sum, min, max, count }) => ({ ts: bucket * width - offset, mean: sum / count, min, max, count }))
}

/** Each kind's metrics and batteryV, as JSON for the replay queries: the roll-up metrics a device of that kind may have. */
const KIND_METRICS = JSON.stringify(Object.fromEntries(deviceKinds.map((k) => [k, [...new Set([...metricsByKind[k], 'batteryV'])]])))

interface PointRow {
  device_id: string
  ts: number
  fields: string
}

/** A roll-up row as the replay statements return it (raw: an array, not an object). */
type BucketTuple = [deviceId: string, bucketStart: number, metric: string, sum: number, min: number, max: number, count: number]

const toPoint = (row: PointRow): ReplayPoint => ({ deviceId: row.device_id, ts: row.ts, fields: JSON.parse(row.fields) as Record<string, number> })

/** Roll-up rows (one per metric), ordered by bucket then device, as one point per device and bucket. */
function bucketPoints(rows: readonly BucketTuple[]): ReplayPoint[] {
  const out: ReplayPoint[] = []
  let p: (ReplayPoint & { min: Record<string, number>; max: Record<string, number> }) | undefined
  for (const [deviceId, bucketStart, metric, sum, min, max, count] of rows) {
    if (!p || p.deviceId !== deviceId || p.ts !== bucketStart) out.push((p = { deviceId, ts: bucketStart, fields: {}, min: {}, max: {} }))
    p.fields[metric] = sum / count
    p.min[metric] = min
    p.max[metric] = max
  }
  return out
}

function toReading(row: ReadingRow): StoredReading {
  const r: StoredReading = {
    deviceId: row.device_id,
    kind: row.kind,
    ward: row.ward,
    ts: row.ts,
    tsSource: row.ts_source,
    receivedAt: row.received_at,
    fields: JSON.parse(row.fields) as Record<string, number>,
  }
  if (row.seq !== null) r.seq = row.seq
  return r
}

function toRejection(row: DeadLetterRow): Rejection {
  const r: Rejection = {
    id: String(row.id),
    code: row.code,
    message: row.message,
    raw: row.raw,
    rawBytes: row.raw_bytes,
    topic: row.topic,
    receivedAt: row.received_at,
  }
  if (row.issues !== null) r.issues = JSON.parse(row.issues) as unknown[]
  if (row.device_id !== null) r.deviceId = row.device_id
  return r
}
