import type { AggregationWindow } from '@mytho/schema'
import { LOCAL_UTC_OFFSET_MS, windowMs } from '@mytho/schema'

/** How long each tier is kept. Every value in days; 0 = forever. Adapter default: everything forever. */
export interface RetentionOptions {
  /** Raw readings. Default 0 (forever); RETENTION_RAW_DAYS defaults to 90. */
  rawDays?: number
  /** 5-minute roll-ups (sum/min/max/count per device and metric). Default 0 (forever); RETENTION_5M_DAYS defaults to 730. */
  fiveMinuteDays?: number
  /** Hourly roll-ups. Default 0 (forever). */
  hourDays?: number
}

export const DAY_MS = 86_400_000
export const FIVE_MIN_MS = 300_000
export const HOUR_MS = 3_600_000

/** Where one part of a history query is read from. */
export type HistorySource = 'raw' | '5m' | '1h'
export interface HistoryPart {
  source: HistorySource
  from: number
  to: number
}

/**
 * Splits [from, to) into the part older than raw retention (read from a roll-up) and the rest (raw).
 * The split falls on a window boundary, so no window mixes sources; roll-ups are exact (sum/min/max/count),
 * so a window gives the same point from either source. 1m and raw windows always read raw: no roll-up is
 * that fine. 1h and 1d windows read the hourly roll-up (1d windows start at local midnight, UTC+7, a whole
 * number of hours from the epoch), 5m windows the 5-minute one.
 */
export function planHistory(window: AggregationWindow, from: number, to: number, now: number, rawDays: number): HistoryPart[] {
  if (window === 'raw' || window === '1m' || rawDays <= 0) return [{ source: 'raw', from, to }]
  const rollup: HistorySource = window === '5m' ? '5m' : '1h'
  const width = windowMs[window]
  const offset = window === '1d' ? LOCAL_UTC_OFFSET_MS : 0
  const cutoff = now - rawDays * DAY_MS
  const split = Math.ceil((cutoff + offset) / width) * width - offset
  if (split <= from) return [{ source: 'raw', from, to }]
  if (split >= to) return [{ source: rollup, from, to }]
  return [
    { source: rollup, from, to: split },
    { source: 'raw', from: split, to },
  ]
}

/** Start of the bucket of `ts` for a bucket `width` ms wide, aligned to the UTC epoch. */
export const bucketStart = (ts: number, width: number): number => Math.floor(ts / width) * width
