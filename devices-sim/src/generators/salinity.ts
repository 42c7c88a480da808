import type { DeviceRecord } from '@mytho/schema'
import { gaussian, rngFor } from '../prng.ts'
import { springness, tideNorm } from './tide.ts'
import { DAY_MS, HOUR_MS, clamp, dayOfYear, hourBump, localHour, localTime, localYear, round, seasonalBump } from './time.ts'
import type { Generator } from './types.ts'

/*
 * Salinity probes on the Tiền River at Mỹ Tho, ~46 km from the sea (../shared/data/mytho-facts.md §4):
 *  - dry-season intrusion Dec–May: 0.64 g/L on 28 Dec 2024, 1.4 g/L Feb 2023, ~2 g/L 12 Feb 2024,
 *    6.82 g/L on 12 Mar 2024 (a severe year), 1.12 g/L on 5 Mar 2025; season maximum late Feb–March;
 *  - rises and falls with the 14–15-day spring/neap cycle (peaks follow spring tides);
 *  - wet season (Jul–Nov) ≈ 0–0.2 g/L.
 * On 12 Mar 2024 cầu Trường Chính trị (upstream) read 5.12 g/L against the downtown peak 6.82.
 * Within a day salt peaks around high-water slack, when the flood tide has carried it furthest.
 */

/** Downtown points read the full intrusion; upstream ones less (§4, 12 Mar 2024 ratios). */
const SITE_FACTOR: Record<string, number> = {
  'sal-lac-hong': 1,
  'sal-thu-khoa-huan': 0.95,
  'sal-truong-chinh-tri': 0.75,
}

/** Season shape 0 … 1: from mid-December, highest mid-March, gone by early June (days since 10 Dec). */
export function drySeasonShape(t: number): number {
  const year = localYear(t)
  let start = localTime(year, 12, 10)
  if (t < start) start = localTime(year - 1, 12, 10)
  const x = (t - start) / DAY_MS
  if (x < 95) return Math.sin((Math.PI / 2) * (x / 95)) ** 2
  if (x < 175) return Math.cos((Math.PI / 2) * ((x - 95) / 80)) ** 2
  return 0
}

/** How severe a dry season is (0.6–2.0; 2024 was ~2): keyed by the year the season ends in. */
export function drySeasonSeverity(t: number, seed: number): number {
  const endYear = dayOfYear(t) > 300 ? localYear(t) + 1 : localYear(t)
  return 0.6 + 1.4 * rngFor(seed, 'dry-season', endYear)() ** 1.5
}

/** Peak salinity at a downtown point in a typical season at a spring tide, g/L. */
const TYPICAL_PEAK_GL = 3.2

export function salinityGL(device: DeviceRecord, t: number, seed: number): number {
  const site = SITE_FACTOR[device.id] ?? 0.9
  // Salt follows the spring tide with a lag of 1–2 days, and the flood tide within the day (~1 h).
  const spring = springness(t - 1.5 * DAY_MS)
  const tidal = (1 + tideNorm(t - HOUR_MS)) / 2
  const intrusion = TYPICAL_PEAK_GL * drySeasonShape(t) * drySeasonSeverity(t, seed) * (0.3 + 0.7 * spring) * (0.6 + 0.4 * tidal)
  const fresh = 0.06 + 0.1 * tidal * (1 - seasonalBump(dayOfYear(t), 280, 45))
  return site * (intrusion + fresh)
}

export const salinityGenerator: Generator<'salinity'> = (device, t, state, rng) => {
  const gl = salinityGL(device, t, state.seed) * (1 + 0.03 * gaussian(rng))
  // River water 26–31 °C: warmest in April–May, a degree of afternoon warming.
  const doy = dayOfYear(t)
  const waterTempC = 27 + 3 * seasonalBump(doy, 120, 50) + 0.8 * hourBump(localHour(t), 15, 3) + 0.15 * gaussian(rng)
  return { kind: 'salinity', salinityGL: round(clamp(gl, 0, 45), 2), waterTempC: round(clamp(waterTempC, 0, 45), 1) }
}
