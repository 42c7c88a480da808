import type { DeviceRecord } from '@mytho/schema'
import { gaussian, hash32 } from '../prng.ts'
import { clamp, hourBump, localHour, localWeekday, round } from './time.ts'
import { type Generator, coveredSeconds } from './types.ts'
import { rainRateMmH } from './weather.ts'

/*
 * Vehicle counters (../shared/data/mytho-facts.md §3). Figures are the sheet's suggestions:
 *  - rush hours 06:30–08:00 and 16:30–18:30 local (UTC+7), a smaller lunch peak 11:00–12:30,
 *    market traffic around Chợ Mỹ Tho from 04:00–08:00, Sunday-evening return flows on QL1/QL60;
 *  - counts per minute per lane: inner streets 5–15 off-peak, 25–40 at peak; QL1 near Trung Lương
 *    15–30 off-peak, 35–50 at peak; Rạch Miễu 10–15 at peak (from ~18,000 vehicles a day);
 *  - free-flow speeds: inner 30–40 km/h, Ấp Bắc/QL50 40–55, QL1/QL60 50–70; peak 10–20 on the
 *    national roads and the bridge;
 *  - mix: inner streets 85–92 % motorbikes, 6–10 % cars, 1–3 % trucks/buses; QL1/QL60 60–75 %,
 *    15–25 %, 10–15 %.
 * Counts, speed and occupancy come from one flow value, so they agree: occupancy = flow × effective
 * vehicle length ÷ speed (a motorbike counts ~0.7 m of lane: they ride two or three abreast).
 */

export type RoadClass = 'inner' | 'arterial' | 'national' | 'bridge'

interface RoadProfile {
  /** Lanes the counter covers, both directions. */
  lanes: number
  /** Vehicles per minute per lane at 03:00, in the daytime lull, at the rush-hour peak. */
  night: number
  offPeak: number
  peak: number
  freeKmh: number
  /** Speed when flow reaches the usual peak. */
  peakKmh: number
  /** Shares of motorbikes and cars; trucks and buses take the rest. */
  motorbike: number
  car: number
}

export const ROAD_PROFILES: Record<RoadClass, RoadProfile> = {
  inner: { lanes: 2, night: 1, offPeak: 10, peak: 32, freeKmh: 35, peakKmh: 20, motorbike: 0.89, car: 0.08 },
  arterial: { lanes: 2, night: 2, offPeak: 14, peak: 36, freeKmh: 48, peakKmh: 22, motorbike: 0.8, car: 0.14 },
  national: { lanes: 2, night: 4, offPeak: 22, peak: 42, freeKmh: 60, peakKmh: 17, motorbike: 0.68, car: 0.2 },
  bridge: { lanes: 2, night: 1.5, offPeak: 7, peak: 13, freeKmh: 55, peakKmh: 14, motorbike: 0.66, car: 0.2 },
}

/** Metres of lane one vehicle occupies at the detector (vehicle length + detection zone, abreast riding). */
const EFFECTIVE_LENGTH_M = { motorbike: 0.7, car: 5.5, truckBus: 12 } as const

/** Registry road names (the seed fleet's `road`) to a road class; unknown streets are inner. */
export function roadClass(device: DeviceRecord): RoadClass {
  const road = device.road ?? ''
  if (road === 'QL60-rach-mieu') return 'bridge'
  if (road === 'QL1' || road === 'QL60') return 'national'
  if (road === 'QL50' || road === 'ap-bac') return 'arterial'
  return 'inner'
}

/** Streets by Chợ Mỹ Tho: vendors are busy before sunrise (§3, travelfish). */
const MARKET_ROADS = new Set(['le-loi', 'trung-trac'])

/** 0 at night … 1 at the usual rush-hour peak, for a road class at t. */
export function demandShape(device: DeviceRecord, t: number): number {
  const h = localHour(t)
  const wd = localWeekday(t)
  const weekend = wd === 0 || wd === 6
  const cls = roadClass(device)
  const p = ROAD_PROFILES[cls]
  // Daytime plateau from ~05:30 to ~21:30, smooth edges.
  const day = 1 / (1 + Math.exp(-(h - 5.5) * 2.5)) - 1 / (1 + Math.exp(-(h - 21.5) * 1.5))
  const lull = p.night / p.peak + (p.offPeak / p.peak - p.night / p.peak) * day
  const morning = hourBump(h, 7.25, 0.5) * (weekend ? 0.55 : 1)
  const evening = hourBump(h, 17.5, 0.65) * (weekend ? 0.8 : 1)
  const lunch = 0.35 * hourBump(h, 11.75, 0.5)
  const market = MARKET_ROADS.has(device.road ?? '') ? 0.45 * hourBump(h, 6, 1.1) : 0
  // Sunday-evening return to Hồ Chí Minh City on QL1/QL60.
  const sundayReturn = wd === 0 && (cls === 'national' || cls === 'bridge') ? 0.3 * hourBump(h, 17, 2) : 0
  const rush = Math.max(morning, evening, lunch, market) + sundayReturn
  return clamp(lull + (1 - lull) * rush, 0, 1.4)
}

/** Speed-flow curve: free flow when empty, peakKmh at the usual peak, a quarter less when flow is 30 % above it. */
function speedAtLoad(p: RoadProfile, load: number): number {
  if (load <= 1) return p.peakKmh + (p.freeKmh - p.peakKmh) * (1 - Math.max(0, load) ** 2.5)
  return p.peakKmh * (1 - 0.8 * clamp(load - 1, 0, 0.3))
}

export interface TrafficModel {
  /** Expected vehicles per minute per lane. */
  perLaneMin: number
  /** Mean speed before sensor noise, km/h. */
  speedKmh: number
}

/** Flow and speed at a counter before counting noise: what the rush-hour scenario's expectations are computed from. */
export function trafficModel(device: DeviceRecord, t: number, seed: number): TrafficModel {
  const p = ROAD_PROFILES[roadClass(device)]
  // Each site is a little busier or quieter than its class (±15 %, fixed per seed); the Trung Lương
  // roundabout is the recurring congestion point (§3).
  const site = 0.85 + ((hash32(seed, 'traffic-site', device.id) % 1000) / 1000) * 0.3
  const busy = device.id.includes('trung-luong') ? 1.05 : 1
  const rain = rainRateMmH(seed, device.ward, t)
  const rainFlow = rain > 10 ? 0.85 : 1
  const perLaneMin = p.peak * demandShape(device, t) * site * busy * rainFlow
  // Speed falls as flow nears the usual peak; heavy rain slows everyone by a fifth.
  const speedKmh = speedAtLoad(p, perLaneMin / p.peak) * (rain > 10 ? 0.8 : 1)
  return { perLaneMin, speedKmh }
}

/** Speed scatter between intervals (1 σ, share of the mean). */
export const TRAFFIC_SPEED_NOISE = 0.05

export const trafficGenerator: Generator<'traffic'> = (device, t, state, rng) => {
  const p = ROAD_PROFILES[roadClass(device)]
  const { perLaneMin, speedKmh } = trafficModel(device, t, state.seed)
  const intervalS = coveredSeconds(device, t, state)
  const expected = (perLaneMin * p.lanes * intervalS) / 60
  const vehicleCount = Math.max(0, Math.round(expected + Math.sqrt(expected) * gaussian(rng)))

  const carShare = clamp(p.car + 0.02 * gaussian(rng), 0, 1)
  const truckShare = clamp(1 - p.motorbike - p.car + 0.01 * gaussian(rng), 0, 1)
  const carCount = Math.min(vehicleCount, Math.round(vehicleCount * carShare))
  const truckBusCount = Math.min(vehicleCount - carCount, Math.round(vehicleCount * truckShare))
  const motorbikeCount = vehicleCount - carCount - truckBusCount

  const avgSpeedKmh = round(clamp(speedKmh * (1 + TRAFFIC_SPEED_NOISE * gaussian(rng)), 3, p.freeKmh * 1.2), 1)

  const flowPerLaneS = vehicleCount / p.lanes / intervalS
  const meanLengthM =
    vehicleCount === 0
      ? 0
      : (motorbikeCount * EFFECTIVE_LENGTH_M.motorbike + carCount * EFFECTIVE_LENGTH_M.car + truckBusCount * EFFECTIVE_LENGTH_M.truckBus) / vehicleCount
  const occupancyPct = round(clamp((100 * flowPerLaneS * meanLengthM) / (avgSpeedKmh / 3.6), 0, 100), 1)

  return { kind: 'traffic', intervalS, vehicleCount, motorbikeCount, carCount, truckBusCount, avgSpeedKmh, occupancyPct }
}
