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
