/** Mỹ Tho keeps UTC+7 all year (no daylight saving): a local calendar day starts at 17:00 UTC the day before. */
const LOCAL_OFFSET_MS = 7 * 3600_000
const H = 3600_000

export const periods = ['8h', '12h', '24h', '7d', 'range'] as const
export type Period = (typeof periods)[number]
const hoursOf: Record<Exclude<Period, 'range'>, number> = { '8h': 8, '12h': 12, '24h': 24, '7d': 7 * 24 }

/** Midnight of a local date (`2026-12-04` from an <input type=date>) in ms UTC; undefined when empty or malformed. */
export function localDayStart(date: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date)
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) - LOCAL_OFFSET_MS : undefined
}

/** Today's local date, for the date inputs' defaults. */
export const localDate = (ms: number): string => new Date(ms + LOCAL_OFFSET_MS).toISOString().slice(0, 10)

/**
 * The time range a preset means at `now`: the last N hours, or whole local days from `fromDate` through `toDate`
 * (both included). Undefined when a date range is incomplete or backwards.
 */
export function periodBounds(period: Period, now: number, fromDate = '', toDate = ''): { from: number; to: number } | undefined {
  if (period !== 'range') return { from: now - hoursOf[period] * H, to: now }
  const from = localDayStart(fromDate)
  const lastDay = localDayStart(toDate)
  if (from === undefined || lastDay === undefined || lastDay < from) return undefined
  return { from, to: lastDay + 24 * H }
}
