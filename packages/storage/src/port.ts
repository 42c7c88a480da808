import type {
  DeadLetterBucket,
  DeadLetterBucketCount,
  DeadLetterCountQuery,
  DeadLetterQuery,
  HistoryQuery,
  HistorySeries,
  Rejection,
  StorageStatus,
  StoredReading,
} from '@mytho/schema'

/**
 * The storage port. Ingest, API and alerts talk only to this; the InfluxDB and SQLite adapters
 * implement it and one contract suite (contract.test-suite.ts) holds both to the same behaviour.
 *
 * Every failure is a StorageError: `retryable` says whether the same call may succeed later (ingest keeps
 * the batch unacknowledged and retries), and input no adapter can store is refused with retryable=false.
 */
export interface ReadingStore {
  /** Creates the database/tables if absent. Safe to call again. Call once before use (SQLite also migrates lazily). */
  init(): Promise<void>
  /**
   * Writes a batch durably: when the promise resolves the readings survive a crash.
   * Idempotent by (deviceId, ts): writing the same reading again never makes a second point. Which copy
   * survives when two differ is the adapter's: SQLite keeps the first, InfluxDB the last written field values.
   * Device ids must match DEVICE_ID_PATTERN and field names be identifiers (letters and digits) holding finite
   * numbers; otherwise the whole batch is refused (retryable=false) and nothing of it is written.
   * Metric values are stored as floats: an integer-looking value reads back as the same JS number.
   */
  writeReadings(readings: readonly StoredReading[]): Promise<void>
  /** The newest reading (largest ts) of each device, sorted by deviceId (all devices when `deviceIds` is absent). */
  latest(deviceIds?: readonly string[]): Promise<StoredReading[]>
  /**
   * One metric over a time range [from, to), raw or aggregated in windows (mean/min/max/count).
   * One series per distinct requested device id, in request order (empty `points` when it has none);
   * points oldest first; readings without the metric are skipped; a window is labelled by its start
   * (UTC ms), 1d windows starting at local midnight (UTC+7), shorter ones aligned to the UTC epoch;
   * empty windows are left out.
   */
  history(query: HistoryQuery): Promise<HistorySeries[]>
  /**
   * Brings the 5-minute and hourly roll-ups of [from, to) (epoch ms, widened to whole hours) up to date with the
   * raw readings still kept. SQLite keeps them current on every write, so there it does nothing; InfluxDB's
   * continuous queries only see recent time, so readings that arrive late or were written before init() set
   * them up need this. history() reads the roll-ups only for ranges whose raw readings are past retention.
   */
  rollUp(from: number, to: number): Promise<void>
  /**
   * Replay (issue #21): each device's newest point at or before `at` and after `at - lookbackMs`, sorted by deviceId,
   * in one query whatever `at` is. `raw`: its newest reading. `5m`: the 5-minute roll-up bucket holding its newest
   * point (the bucket containing `at` or the last one before it), `ts` its start, fields each metric's mean, with
   * min/max. A device without a point in the lookback is left out.
   */
  stateAt(query: ReplayStateQuery): Promise<ReplayPoint[]>
  /**
   * Replay: every reading (`raw`) or 5-minute bucket (`5m`, by its start) in [from, to), oldest first, devices of one
   * time sorted by id. InfluxDB's 5-minute buckets come from its roll-ups: rollUp() a range written behind its
   * continuous queries' backs before reading it.
   */
  changes(query: ReplayChangesQuery): Promise<ReplayPoint[]>
  /**
   * Keeps rejected messages with their reason; durable when the promise resolves. Not idempotent: a dead
   * letter written twice is kept twice (two in the same ms are never merged). Any text round-trips exactly.
   */
  writeDeadLetters(rejections: readonly Rejection[]): Promise<void>
  /**
   * Newest first (order within one ms unspecified); `from`/`to` filter receivedAt as [from, to). Each carries its
   * `id`, which deleteDeadLetters takes.
   */
  deadLetters(query?: DeadLetterQuery): Promise<Rejection[]>
  /** Count of dead letters by reason code (of one device, received in [from, to), when given). */
  deadLetterCounts(query?: DeadLetterCountQuery): Promise<Record<string, number>>
  /**
   * Counts by reason per window over [from, to): clock hours, or local days (from midnight UTC+7); oldest first,
   * empty windows left out.
   */
  deadLetterBuckets(query: DeadLetterCountQuery & { from: number; to: number; bucket: DeadLetterBucket }): Promise<DeadLetterBucketCount[]>
  /**
   * Removes the dead letters of these ids (a re-drive stored their readings); ids not kept (gone already, or not this
   * store's) are skipped. Answers how many ids named a letter. An InfluxDB id names a (ms, reason, device) slot: every
   * letter in it goes. Where the server takes no DELETE (InfluxDB 2.x/3.x over the v1 API) the letters are marked with
   * a tombstone instead, which every read above leaves out. The writer's (the ingest's); a reader's credentials may
   * not allow it.
   */
  deleteDeadLetters(ids: readonly string[]): Promise<number>
  /**
   * What init() could set up of what was asked (retention, roll-ups), with a warning for each thing it could not; for
   * health and readiness answers. Optional so a hand-made store (a test double) need not say.
   */
  status?(): StorageStatus
  /** Releases files/sockets, aborting requests in flight. Safe to call twice; later calls fail non-retryable. */
  close(): Promise<void>
}

export type ReplayResolution = 'raw' | '5m'

export interface ReplayStateQuery {
  at: number
  /** How far back a device's newest point may lie, ms (bounds the query's cost). */
  lookbackMs: number
  resolution: ReplayResolution
}

export interface ReplayChangesQuery {
  from: number
  to: number
  resolution: ReplayResolution
}

/** One device's point in a replay: a reading, or a 5-minute roll-up bucket. */
export interface ReplayPoint {
  deviceId: string
  /** The reading's time, or the bucket's start (UTC ms). */
  ts: number
  /** The reading's fields, or each metric's mean over the bucket. */
  fields: Record<string, number>
  /** 5m only: each metric's smallest and largest value in the bucket (what a judge takes the worst of). */
  min?: Record<string, number>
  max?: Record<string, number>
}

export class StorageError extends Error {
  override name = 'StorageError'
  /** True when the same call may succeed later (server down, 5xx, 429, timeout, database locked). */
  readonly retryable: boolean
  /** Milliseconds the server asked us to wait (Retry-After), if it said. */
  readonly retryAfterMs: number | undefined
  constructor(message: string, opts: { cause?: unknown; retryable: boolean; retryAfterMs?: number }) {
    super(message, { cause: opts.cause })
    this.retryable = opts.retryable
    this.retryAfterMs = opts.retryAfterMs
  }
}
