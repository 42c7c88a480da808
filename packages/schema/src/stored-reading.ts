import { z } from 'zod'
import { DeviceKind, Ward } from './kinds.ts'
import { EpochMs } from './readings.ts'

/**
 * A reading as storage keeps it: validated, tagged from the registry, keyed by (deviceId, ts).
 * The key is what makes a redelivered MQTT message land on the same point instead of a second one.
 */
export const StoredReading = z.object({
  deviceId: z.string(),
  kind: DeviceKind,
  ward: Ward,
  /** The reading's time, UTC ms: the device's `ts`, else the broker's receive time. */
  ts: EpochMs,
  /** Where `ts` came from, so an operator can tell device clocks from receive times. */
  tsSource: z.enum(['device', 'broker', 'ingest']),
  /** When ingest received it, UTC ms. */
  receivedAt: z.number().int(),
  seq: z.number().int().optional(),
  /** Numeric measurements, named as in the device contract (`waterLevelCm`, `avgSpeedKmh`, …). */
  fields: z.record(z.string(), z.number()),
})
export type StoredReading = z.infer<typeof StoredReading>

/** Aggregation windows the history queries offer. `1d` windows start at local midnight (UTC+7). */
export const windows = ['raw', '1m', '5m', '1h', '1d'] as const
export const AggregationWindow = z.enum(windows)
export type AggregationWindow = z.infer<typeof AggregationWindow>
export const windowMs: Record<Exclude<AggregationWindow, 'raw'>, number> = {
  '1m': 60_000,
  '5m': 300_000,
  '1h': 3_600_000,
  '1d': 86_400_000,
}

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS

/** Most devices the history explorer compares on one chart, and one CSV export holds. */
export const HISTORY_COMPARE_MAX_DEVICES = 8

/**
 * The window the history explorer draws a range in: every reading over the last hours, a few hundred to ~2,000
 * points a device beyond (1m ≤ 24 h, 5m ≤ 7 d, 1h ≤ 30 d, 1d beyond).
 */
export function windowForRange(rangeMs: number): AggregationWindow {
  if (rangeMs <= 6 * HOUR_MS) return 'raw'
  if (rangeMs <= DAY_MS) return '1m'
  if (rangeMs <= 7 * DAY_MS) return '5m'
  if (rangeMs <= 30 * DAY_MS) return '1h'
  return '1d'
}

/**
 * Longest range one history CSV export (and the explorer's chart) covers in each window: about 45,000–105,000 rows a
 * device at a reading a minute. A longer range needs a longer window.
 */
export const HISTORY_MAX_RANGE_MS: Record<AggregationWindow, number> = {
  raw: 31 * DAY_MS,
  '1m': 31 * DAY_MS,
  '5m': 366 * DAY_MS,
  '1h': 5 * 366 * DAY_MS,
  '1d': 20 * 366 * DAY_MS,
}

/** Asia/Ho_Chi_Minh is UTC+7 all year (no daylight saving), so a fixed offset is exact. */
export const LOCAL_UTC_OFFSET_MS = 7 * 3_600_000

export const HistoryQuery = z.object({
  deviceIds: z.array(z.string()).min(1),
  metric: z.string(),
  from: z.number().int(),
  to: z.number().int(),
  window: AggregationWindow,
})
export type HistoryQuery = z.infer<typeof HistoryQuery>

/** One point of a history series: raw points carry `value`; windows carry mean/min/max/count. */
export const HistoryPoint = z.object({
  ts: z.number().int(),
  mean: z.number(),
  min: z.number(),
  max: z.number(),
  count: z.number().int(),
})
export type HistoryPoint = z.infer<typeof HistoryPoint>
export const HistorySeries = z.object({ deviceId: z.string(), metric: z.string(), window: AggregationWindow, points: z.array(HistoryPoint) })
export type HistorySeries = z.infer<typeof HistorySeries>
