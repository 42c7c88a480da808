import { gaussian, rngFor } from '../prng.ts'
import { DAY_MS, HOUR_MS, clamp, dayOfYear, localDayIndex, localDayStart, monthlyCurve } from './time.ts'

/*
 * Convective rain over Mỹ Tho, shared by every device that feels it (rain gauges, canal levels,
 * traffic speed, PM2.5 wash-out, solar charging). ../shared/data/mytho-facts.md §2 "Rain":
 *  - rainy season mid/late May → mid-November; showers mainly afternoon/evening;
 *  - bursts of 20–60 min peaking at 30–80 mm/h, rarely > 100 mm/h, storms mostly 14:00–20:00,
 *    15–23 rain days a month in Jun–Oct (suggestion);
 *  - storm totals 5–20 mm, locally > 30; yearly total ~1,300–1,600 mm (HCMC ×0.75, estimate).
 *
 * Everything is a closed-form function of (seed, ward, t): a day's storms come from a generator
 * keyed by (seed, day), and each ward gets its own share of a storm (cells are local), so two
 * devices in one ward agree and a replay with the same seed gives the same rain.
 */

/** Chance that a local day has a storm, by month (Jan … Dec); ~140 rain days a year. */
const RAIN_DAY_CHANCE = [0.05, 0.02, 0.05, 0.15, 0.45, 0.65, 0.65, 0.62, 0.7, 0.65, 0.35, 0.12] as const
/** Storm strength by month: dry-season showers are weaker. */
const STORM_STRENGTH = [0.5, 0.5, 0.55, 0.7, 0.95, 1, 1, 1, 1, 1, 0.85, 0.6] as const

export interface Storm {
  startMs: number
  durationMs: number
  /** Peak intensity where the cell is strongest, mm/h. */
  peakMmH: number
  /** Cell index within its day, keys the per-ward share. */
  index: number
  day: number
}

/*
 * Burst shape over x = (t − start) / duration: a linear rise to the peak at x = 0.2, then an
 * exponential decay (k = 2.75) into a light stratiform tail that ends at x = 2.5.
 * Integral ≈ 0.46 × peak × duration, so a 40 mm/h, 40 min burst gives ~12 mm.
 */
const RISE = 0.2
const DECAY = 2.75
const END = 2.5
const shape = (x: number): number => (x <= 0 || x >= END ? 0 : x < RISE ? x / RISE : Math.exp(-DECAY * (x - RISE)))
/** ∫₀ˣ shape. */
const shapeIntegral = (x: number): number => {
  if (x <= 0) return 0
  const xc = Math.min(x, END)
  if (xc <= RISE) return (xc * xc) / (2 * RISE)
  return RISE / 2 + (1 - Math.exp(-DECAY * (xc - RISE))) / DECAY
}

const stormCache = new Map<string, readonly Storm[]>()

/** The storms of one local day; deterministic in (seed, day). */
export function stormsOfDay(seed: number, day: number): readonly Storm[] {
  const key = `${seed}:${day}`
  const hit = stormCache.get(key)
  if (hit) return hit
  const rng = rngFor(seed, 'rain-day', day)
  const start = localDayStart(day)
  const doy = dayOfYear(start + DAY_MS / 2)
  const storms: Storm[] = []
  if (rng() < monthlyCurve(doy, RAIN_DAY_CHANCE)) {
    const n = rng() < 0.3 ? 2 : 1
    const strength = monthlyCurve(doy, STORM_STRENGTH)
    for (let index = 0; index < n; index++) {
      // 80 % between 14:00 and 20:00 local, the rest at any hour (night and morning rain happen).
      const hour = rng() < 0.8 ? 14 + 6 * rng() : 24 * rng()
      const durationMs = (20 + 40 * rng()) * 60_000
      const peakMmH = clamp(strength * Math.exp(Math.log(38) + 0.45 * gaussian(rng)), 3, 150)
      storms.push({ startMs: start + hour * HOUR_MS, durationMs, peakMmH, index, day })
    }
  }
  if (stormCache.size > 4096) stormCache.clear()
  stormCache.set(key, storms)
  return storms
}

/** How much of a storm a ward gets (0.15–1.2) and how many minutes later it arrives there (±12). */
function cellAt(seed: number, storm: Storm, ward: string): { share: number; lagMs: number } {
  const rng = rngFor(seed, 'rain-cell', storm.day, storm.index, ward)
  return { share: 0.15 + 1.05 * rng(), lagMs: (rng() - 0.5) * 24 * 60_000 }
}

/** Storms that can touch [from, to]: those of the days involved and the day before (evening tails). */
function stormsNear(seed: number, from: number, to: number): Storm[] {
  const out: Storm[] = []
  for (let d = localDayIndex(from) - 1; d <= localDayIndex(to); d++) out.push(...stormsOfDay(seed, d))
  return out
}

/** Rain intensity in a ward at t, mm/h. */
export function rainRateMmH(seed: number, ward: string, t: number): number {
  let rate = 0
  for (const s of stormsNear(seed, t, t)) {
    const { share, lagMs } = cellAt(seed, s, ward)
    rate += share * s.peakMmH * shape((t - s.startMs - lagMs) / s.durationMs)
  }
  return rate
}

/** Rain that fell in a ward during [from, to], mm (exact integral of the rate). */
export function rainBetweenMm(seed: number, ward: string, from: number, to: number): number {
  if (to <= from) return 0
  let mm = 0
  for (const s of stormsNear(seed, from, to)) {
    const { share, lagMs } = cellAt(seed, s, ward)
    const x0 = (from - s.startMs - lagMs) / s.durationMs
    const x1 = (to - s.startMs - lagMs) / s.durationMs
    mm += share * s.peakMmH * (s.durationMs / HOUR_MS) * (shapeIntegral(x1) - shapeIntegral(x0))
  }
  return mm
}

/**
 * Rain still "in the system" at t, mm: each storm's fallen rain decaying with time constant tauH
 * after its centre. Canals drain over hours (Trần Hưng Đạo took ~18 h, §2), air washes out faster.
 */
export function recentRainMm(seed: number, ward: string, t: number, tauH: number): number {
  let mm = 0
  for (const s of stormsNear(seed, t - 2 * DAY_MS, t)) {
    const { share, lagMs } = cellAt(seed, s, ward)
    const x = (t - s.startMs - lagMs) / s.durationMs
    if (x <= 0) continue
    const fallen = share * s.peakMmH * (s.durationMs / HOUR_MS) * shapeIntegral(x)
    const since = Math.max(0, t - (s.startMs + lagMs + 0.5 * s.durationMs))
    mm += fallen * Math.exp(-since / (tauH * HOUR_MS))
  }
  return mm
}

/** 0 clear … 1 overcast: season plus rain now or in the last hours (solar charging, humidity). */
export function cloudiness(seed: number, ward: string, t: number): number {
  const doy = dayOfYear(t)
  const season = 0.15 + 0.45 * (monthlyCurve(doy, RAIN_DAY_CHANCE) / 0.7)
  return clamp(season + 0.05 * recentRainMm(seed, ward, t, 3), 0, 1)
}
