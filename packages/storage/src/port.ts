import type { DeadLetterQuery, HistoryQuery, HistorySeries, Rejection, StoredReading } from '@mytho/schema'

/**
 * The storage port. Ingest, API and alerts talk only to this; the InfluxDB and SQLite adapters
 * implement it and one contract suite (contract.test-suite.ts) holds both to the same behaviour.
 */
export interface ReadingStore {
  /** Creates the database/tables if absent. Safe to call again. */
  init(): Promise<void>
  /**
   * Writes a batch durably: when the promise resolves the readings survive a crash.
   * Idempotent by (deviceId, ts): writing the same reading again never makes a second point.
   */
  writeReadings(readings: readonly StoredReading[]): Promise<void>
  /** The newest reading of each device (all devices when `deviceIds` is absent). */
  latest(deviceIds?: readonly string[]): Promise<StoredReading[]>
  /** One metric over a time range [from, to), raw or aggregated in windows (mean/min/max/count). */
  history(query: HistoryQuery): Promise<HistorySeries[]>
  /** Keeps rejected messages with their reason; durable when the promise resolves. */
  writeDeadLetters(rejections: readonly Rejection[]): Promise<void>
  /** Newest first. */
  deadLetters(query?: DeadLetterQuery): Promise<Rejection[]>
  /** Count of dead letters by reason code. */
  deadLetterCounts(): Promise<Record<string, number>>
  close(): Promise<void>
}

export class StorageError extends Error {
  override name = 'StorageError'
  /** True when the same call may succeed later (server down, 5xx, 429, timeout). */
  readonly retryable: boolean
  /** Milliseconds the server asked us to wait (Retry-After), if it said. */
  readonly retryAfterMs: number | undefined
  constructor(message: string, opts: { cause?: unknown; retryable: boolean; retryAfterMs?: number }) {
    super(message, { cause: opts.cause })
    this.retryable = opts.retryable
    this.retryAfterMs = opts.retryAfterMs
  }
}
