import { rngFor } from '../prng.ts'
import { DAY_MS, HOUR_MS, dayOfYear, localDayIndex, localDayStart, seasonalBump } from './time.ts'

/*
 * The Tiền River tide at Mỹ Tho (../shared/data/mytho-facts.md §2 "When"):
 *  - irregular semi-diurnal: two highs and two lows per lunar day (24 h 50 min) of unequal height;
 *  - spring tides twice a lunar month, around lunar days 1–4 and 15–18, high water then near
 *    05–07 h and 17–19 h local, shifting ~50 min later each day;
 *  - the year's highest in lunar months 8–10 (≈ Sep–Nov, Mekong flood meets spring tides) and a
 *    second high season Dec–Feb (north-east monsoon); spring peaks 150–185 cm then (BĐ III = 160 cm),
 *    ordinary highs ≈ 110–130 cm, a daily range of ~2–2.5 m (estimate).
 *
 * level = MSL(season) + M2 + S2 + K1′, following the facts sheet's suggestion. M2 (12.42 h) and S2
 * (12.00 h) beat with period 1/(1/12 − 1/12.42) h = 14.77 d: that beat *is* the spring–neap
 * envelope, and because S2 is locked to the sun, spring high waters keep their solar clock time
 * (06 and 18 h) fortnight after fortnight, as the bulletins report. K1′ (24.84 h, twice M2) makes the
 * two daily highs unequal. Amplitudes are tuned to the figures above, not measured (none published).
 */

export const M2_PERIOD_MS = 12.4206012 * HOUR_MS
export const S2_PERIOD_MS = 12 * HOUR_MS
export const K1_LIKE_PERIOD_MS = 2 * M2_PERIOD_MS
/** 14.765 d, half a synodic month. */
export const SPRING_NEAP_PERIOD_MS = 1 / (1 / S2_PERIOD_MS - 1 / M2_PERIOD_MS)

/** Amplitudes, cm. Spring high = MSL + 115 at most; neap high ≈ MSL + 40 ± 15. */
export const TIDE_AMPLITUDE_CM = { m2: 70, s2: 30, k1: 15 } as const
const TOTAL_AMPLITUDE_CM = TIDE_AMPLITUDE_CM.m2 + TIDE_AMPLITUDE_CM.s2 + TIDE_AMPLITUDE_CM.k1

/**
 * A spring-tide moment: new moon of 2000-01-06 18:14 UTC plus ~2 days (lunar day 3), moved to the
 * nearest 06:00 local so M2 and S2 crest together there: 2000-01-09 06:00 +07:00.
 */
export const SPRING_REFERENCE_MS = Date.UTC(2000, 0, 8, 23, 0)

/**
 * Mean level over a few days, cm on the national datum: ~10 cm in the dry-to-wet transition
 * (Mar–Jul), +50 with the Mekong flood peaking in early October, +40 with the north-east monsoon
 * around late January (§2 "When"). Spring peaks thus reach ~150–175 cm in Sep–Nov and Dec–Feb and
 * stay below ~130 cm in June.
 */
export const meanSeaLevelCm = (t: number): number => {
  const doy = dayOfYear(t)
  return 10 + 50 * seasonalBump(doy, 282, 40) + 40 * seasonalBump(doy, 30, 40)
}

/** The astronomical part around the mean, cm (no season, no weather). */
export function tidalSwingCm(t: number): number {
  const dt = t - SPRING_REFERENCE_MS
  const { m2, s2, k1 } = TIDE_AMPLITUDE_CM
  return (
    m2 * Math.cos((2 * Math.PI * dt) / M2_PERIOD_MS) + s2 * Math.cos((2 * Math.PI * dt) / S2_PERIOD_MS) + k1 * Math.cos((2 * Math.PI * dt) / K1_LIKE_PERIOD_MS)
  )
}

/** River level from tide and season alone, cm; the same for every seed. */
export const astronomicalLevelCm = (t: number): number => meanSeaLevelCm(t) + tidalSwingCm(t)

/** −1 … 1: where the tide stands in its largest possible swing (used by salinity). */
export const tideNorm = (t: number): number => tidalSwingCm(t) / TOTAL_AMPLITUDE_CM

/** 0 at neap, 1 at spring: the M2–S2 beat. */
export const springness = (t: number): number => (1 + Math.cos((2 * Math.PI * (t - SPRING_REFERENCE_MS)) / SPRING_NEAP_PERIOD_MS)) / 2

/**
 * Weather on top of the tide, cm: river discharge and wind set-up change from day to day by a few
 * centimetres, slightly raised in the gió chướng months (Dec–Mar, §4 salinity timing). Daily values
 * are seeded and interpolated so the level stays smooth across midnight.
 */
export function surgeCm(t: number, seed: number): number {
  const day = localDayIndex(t)
  const f = (t - localDayStart(day)) / DAY_MS
  const at = (d: number) => (rngFor(seed, 'surge', d)() - 0.5) * 8
  const monsoon = 3 * seasonalBump(dayOfYear(t), 30, 45)
  return at(day) * (1 - f) + at(day + 1) * f + monsoon
}

/** The Tiền River level at Mỹ Tho, cm on the national datum. */
export const riverLevelCm = (t: number, seed: number): number => astronomicalLevelCm(t) + surgeCm(t, seed)
