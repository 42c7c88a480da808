/*
 * Calendar helpers in Mỹ Tho local time. Vietnam is UTC+7 all year (no daylight saving), so local
 * clock time is a fixed shift of the UTC timestamp; `t` everywhere is the simulated time in ms UTC.
 */

export const HOUR_MS = 3_600_000
export const DAY_MS = 86_400_000
export const LOCAL_OFFSET_MS = 7 * HOUR_MS

/** Local clock hour as a fraction, 0 ≤ h < 24 (07:15 → 7.25). */
export const localHour = (t: number): number => ((((t + LOCAL_OFFSET_MS) % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS

/** Local day number since 1970-01-01 (local); storms and daily weather are keyed by it. */
export const localDayIndex = (t: number): number => Math.floor((t + LOCAL_OFFSET_MS) / DAY_MS)

/** Start of a local day, ms UTC. */
export const localDayStart = (day: number): number => day * DAY_MS - LOCAL_OFFSET_MS

/** 0 = Sunday … 6 = Saturday, local. */
export const localWeekday = (t: number): number => (localDayIndex(t) + 4) % 7

/** Local day of the year as a fraction, 0 = 1 January 00:00 local. */
export function dayOfYear(t: number): number {
  const local = new Date(t + LOCAL_OFFSET_MS)
  const jan1 = Date.UTC(local.getUTCFullYear(), 0, 1)
  return (local.getTime() - jan1) / DAY_MS
}

/** Local calendar year. */
export const localYear = (t: number): number => new Date(t + LOCAL_OFFSET_MS).getUTCFullYear()

/** ms UTC of a local wall-clock time in Mỹ Tho (month 1–12). */
export const localTime = (year: number, month: number, day: number, hour = 0, minute = 0): number =>
  Date.UTC(year, month - 1, day, hour, minute) - LOCAL_OFFSET_MS

/** A bump of height 1 centred on a day of the year, wrapping around New Year; sigma in days. */
export function seasonalBump(doy: number, centre: number, sigma: number): number {
  let d = Math.abs(doy - centre) % 365.25
  if (d > 365.25 / 2) d = 365.25 - d
  return Math.exp(-0.5 * (d / sigma) ** 2)
}

/** A bump of height 1 centred on a local clock hour, wrapping around midnight; sigma in hours. */
export function hourBump(hour: number, centre: number, sigma: number): number {
  let d = Math.abs(hour - centre) % 24
  if (d > 12) d = 24 - d
  return Math.exp(-0.5 * (d / sigma) ** 2)
}

/** Linear interpolation over 12 mid-month values (index 0 = January), wrapping Dec → Jan. */
export function monthlyCurve(doy: number, values: readonly number[]): number {
  const m = (doy / 365.25) * 12 - 0.5
  const i = Math.floor(m)
  const f = m - i
  const a = values[((i % 12) + 12) % 12] ?? 0
  const b = values[(((i + 1) % 12) + 12) % 12] ?? 0
  return a + (b - a) * f
}

export const clamp = (v: number, min: number, max: number): number => Math.min(max, Math.max(min, v))

/** Rounds to a number of decimals (sensor resolution); never returns -0. */
export const round = (v: number, decimals: number): number => {
  const f = 10 ** decimals
  return Math.round(v * f) / f + 0
}

/** Great-circle distance, km (good enough inside one city). */
export function distanceKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180
  const x = (lon2 - lon1) * rad * Math.cos(((lat1 + lat2) / 2) * rad)
  const y = (lat2 - lat1) * rad
  return Math.sqrt(x * x + y * y) * 6371
}
