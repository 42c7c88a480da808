import type { DeviceRecord } from '@mytho/schema'
import { gaussian, hash32 } from '../prng.ts'
import { astronomicalLevelCm, meanSeaLevelCm, surgeCm } from './tide.ts'
import { clamp, distanceKm, round } from './time.ts'
import type { Generator } from './types.ts'
import { recentRainMm } from './weather.ts'

/*
 * Water-level gauges (ultrasonic, cm on the national datum). River gauges read the Tiền River tide
 * (./tide.ts); the tide wave runs upstream (westward) at roughly 40 km/h, ~1.5 min per km.
 * Bảo Định canal gauges lag the river and are damped the further they sit from the canal mouth
 * (cống Bảo Định, ../shared/data/mytho-facts.md §1: 10.3522, 106.3662), and they add rain: the
 * city drains into the canal, which empties over hours (Trần Hưng Đạo took ~18 h to drain, §2).
 */

/** Mỹ Tho hydrological station, assumed riverside downtown (§1 mt-flood-hydro-station). */
const HYDRO_STATION = { lat: 10.3515, lon: 106.3645 } as const
const CANAL_MOUTH = { lat: 10.3522, lon: 106.3662 } as const

/** Centimetres a canal rises per millimetre of rain still draining (an estimate: 50 mm ≈ +20 cm). */
const CANAL_CM_PER_MM = 0.4
/** Hours the canal takes to shed rain (e-folding). */
const CANAL_DRAIN_TAU_H = 6

export interface GaugeSite {
  lagMs: number
  /** Share of the tidal swing that reaches the gauge. */
  damping: number
  /** cm of level per mm of recent rain. */
  rainCmPerMm: number
}

export function gaugeSite(device: DeviceRecord): GaugeSite {
  if (device.waterBody === 'canal') {
    const km = distanceKm(device.lat, device.lon, CANAL_MOUTH.lat, CANAL_MOUTH.lon)
    return { lagMs: (20 + 25 * km) * 60_000, damping: clamp(0.92 - 0.05 * km, 0.7, 1), rainCmPerMm: CANAL_CM_PER_MM }
  }
  const kmUpstream = (HYDRO_STATION.lon - device.lon) * 111.32 * Math.cos((device.lat * Math.PI) / 180)
  return { lagMs: 1.5 * kmUpstream * 60_000, damping: 1, rainCmPerMm: 0.03 }
}

/**
 * The gauge's level before sensor noise, cm. `surge` is the weather term on top of the tide (default
 * the seeded day-to-day surge); the king-tide scenario passes its scripted one instead.
 */
export function waterLevelModelCm(device: DeviceRecord, t: number, seed: number, surge: (t: number) => number = (tt) => surgeCm(tt, seed)): number {
  const site = gaugeSite(device)
  const tt = t - site.lagMs
  const msl = meanSeaLevelCm(tt)
  const river = astronomicalLevelCm(tt) + surge(tt)
  // Each gauge sits a few centimetres off the others (siting, datum transfer): ±3 cm, fixed per seed.
  const offset = ((hash32(seed, 'gauge-offset', device.id) % 1000) / 1000 - 0.5) * 6
  const rain = site.rainCmPerMm * recentRainMm(seed, device.ward, t, CANAL_DRAIN_TAU_H)
  return msl + (river - msl) * site.damping + offset + rain
}

/** Sensor noise of the ultrasonic gauges, cm (1 σ). */
export const WATER_NOISE_CM = 1

export const waterLevelGenerator: Generator<'water_level'> = (device, t, state, rng) => {
  const level = waterLevelModelCm(device, t, state.seed) + WATER_NOISE_CM * gaussian(rng)
  return { kind: 'water_level', waterLevelCm: round(clamp(level, -400, 600), 1) }
}
