import type { DeviceRecord } from '@mytho/schema'
import { gaussian, hash32, rngFor } from '../prng.ts'
import { DAY_MS, clamp, dayOfYear, hourBump, localDayIndex, localDayStart, localHour, monthlyCurve, round, seasonalBump } from './time.ts'
import type { Generator } from './types.ts'
import { rainRateMmH, recentRainMm } from './weather.ts'

/*
 * PM2.5 nodes (../shared/data/mytho-facts.md §4 "Air quality"; no Mỹ Tho monitor data exists, so
 * these follow the sheet's suggestion and the HCMC study it cites):
 *  - background 15–30 µg/m³ in the rainy season, 25–45 Dec–Apr; worst Sept–March;
 *  - a morning peak ~2 h after the morning rush (rush 06:30–08:00 → ~09:15), an evening rise under
 *    the night-time inversion, a minimum in the well-mixed afternoon;
 *  - roadside sites (Trung Lương, Ấp Bắc) +5–15; dry-season rice-straw burning brings episodes of
 *    60–100; HCMC daily means 10–111; rain washes particles out.
 */

/** Monthly background, µg/m³ (Jan … Dec). */
const BACKGROUND = [38, 38, 35, 30, 24, 19, 18, 18, 21, 24, 29, 34] as const
/** Chance a day has straw-burning smoke, by month. */
const BURNING_CHANCE = [0.08, 0.08, 0.08, 0.06, 0.02, 0.01, 0.01, 0.01, 0.01, 0.01, 0.02, 0.05] as const

/** Roadside and market sites, extra µg/m³ at the traffic peaks. */
const ROADSIDE_EXTRA: Record<string, number> = {
  'aq-trung-luong': 13,
  'aq-ben-xe-tien-giang': 10,
  'aq-dh-tien-giang': 6,
  'aq-cho-my-tho': 7,
}

/** City-wide day-to-day variation (×0.6–1.7), smooth across midnight. */
function dayFactor(seed: number, t: number): number {
  const day = localDayIndex(t)
  const f = (t - localDayStart(day)) / DAY_MS
  const at = (d: number) => Math.exp(0.25 * gaussian(rngFor(seed, 'pm-day', d)))
  return at(day) * (1 - f) + at(day + 1) * f
}

/** Straw-burning smoke at t, µg/m³ (0 on most days); smoke lingers into the night. */
function burningSmoke(seed: number, t: number): number {
  let smoke = 0
  for (const day of [localDayIndex(t) - 1, localDayIndex(t)]) {
    const rng = rngFor(seed, 'burning', day)
    if (rng() >= monthlyCurve(dayOfYear(localDayStart(day)), BURNING_CHANCE)) continue
    const amount = 30 + 40 * rng()
    const peak = localDayStart(day) + 20 * 3_600_000
    smoke += amount * Math.exp(-0.5 * ((t - peak) / (4 * 3_600_000)) ** 2)
  }
  return smoke
}

/** PM2.5 before sensor noise, µg/m³. */
export function pm25Level(device: DeviceRecord, t: number, seed: number): number {
  const h = localHour(t)
  const background = monthlyCurve(dayOfYear(t), BACKGROUND) * dayFactor(seed, t)
  const diurnal = 0.75 + 0.45 * hourBump(h, 9.25, 1.3) + 0.3 * hourBump(h, 20.5, 2) - 0.2 * hourBump(h, 15, 2)
  const extra = ROADSIDE_EXTRA[device.id] ?? ((hash32(seed, 'aq-site', device.id) % 1000) / 1000) * 3
  const traffic = 0.3 + 0.7 * Math.max(hourBump(h, 7.5, 1), hourBump(h, 17.5, 1))
  const washout = 1 / (1 + 0.04 * recentRainMm(seed, device.ward, t, 3))
  return (background * diurnal + extra * traffic + burningSmoke(seed, t)) * washout
}

export const airQualityGenerator: Generator<'air_quality'> = (device, t, state, rng) => {
  const pm25 = clamp(pm25Level(device, t, state.seed) * (1 + 0.08 * gaussian(rng)), 1, 900)
  const pm10 = pm25 * (1.45 + 0.25 * rng())
  // Air 25–35 °C (35.9 °C measured 6 May 2024, §2): coolest at dawn, hottest ~14:00, warmest
  // April–May, a little cooler around Tết; rain cools by a few degrees and saturates the air.
  const h = localHour(t)
  const raining = clamp(rainRateMmH(state.seed, device.ward, t) / 10, 0, 1)
  const doy = dayOfYear(t)
  const tempC = 25 + 1.5 * seasonalBump(doy, 120, 45) - 1.5 * seasonalBump(doy, 15, 30) + 8 * hourBump(h, 14, 4.5) - 3 * raining + 0.3 * gaussian(rng)
  const wet = monthlyCurve(doy, [0, 0, 0, 2, 6, 8, 8, 8, 9, 8, 5, 2])
  const humidityPct = 95 - 2.6 * (tempC - 25) + wet + 15 * raining + 1.5 * gaussian(rng)
  return {
    kind: 'air_quality',
    pm25UgM3: round(pm25, 1),
    pm10UgM3: round(clamp(pm10, 1, 2000), 1),
    tempC: round(clamp(tempC, -10, 60), 1),
    humidityPct: round(clamp(humidityPct, 30, 100), 0),
  }
}
