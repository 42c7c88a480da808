import type { DeviceReading, DeviceRecord } from '@mytho/schema'
import { TRAFFIC_SPEED_NOISE, roadClass, trafficModel } from '../generators/index.ts'
import { HOUR_MS, clamp, localTime, round } from '../generators/time.ts'
import { type LevelSample, incidentsOf } from './incidents.ts'
import { type Pace, localLabel, realOffset, speedAt } from './timeline.ts'
import type { BuildOptions, IncidentExpectation, RuleAssumption, ScenarioBase, SpeedExpectation } from './types.ts'

/*
 * A dry-season weekday (Tuesday 13 Jan 2026, no rain to muddle it) from 05:00 to 20:00 local:
 * morning rush 06:30–08:00 and evening rush 16:30–18:30 (../shared/data/mytho-facts.md §3) bring
 * National Road 1 near Trung Lương, QL60 and the Rạch Miễu bridge approaches below 25 km/h, with
 * occupancy rising; inner streets stay slower but unjammed; the night is quiet.
 */
export const RUSH_HOUR_START_MS = localTime(2026, 1, 13, 5)
export const RUSH_HOUR_DURATION_MS = 15 * HOUR_MS
/** Default speed: fifteen hours in 7.5 minutes. */
export const RUSH_HOUR_SPEED = 120
/**
 * Paced for the congestion rule's 5-minute hold on wall time: the morning peak (06:50–07:50) at 4×, so a jam
 * stands for minutes of wall time, the rest of the day at the scenario's speed.
 */
export const RUSH_HOUR_PACE: Pace = [
  { untilMs: localTime(2026, 1, 13, 6, 40), speed: RUSH_HOUR_SPEED },
  { untilMs: localTime(2026, 1, 13, 7, 50), speed: 4 },
]

/**
 * The morning's trouble, scripted the same whatever the seed (the everyday peak alone sits within the sensor noise
 * of the congestion lines): a container truck breaks down on the Rạch Miễu bridge approach at 06:40 and is towed
 * away at 07:30; traffic held back from the bridge backs up through the Trung Lương roundabout on QL1 from 06:45.
 * In a queue the speed is the queue's, not the road's: the model's speed falls to `queueKmh` over `rampMin` minutes
 * and recovers as slowly (the sensor's scatter kept); the flow falls less than the speed, so occupancy rises.
 * Facts §3: peak/congested 10–20 km/h on the national roads, bridge jams 0–10.
 */
export interface ScriptedJam {
  devices: readonly string[]
  road: string
  fromMs: number
  toMs: number
  queueKmh: number
  rampMin: number
}
export const RUSH_HOUR_JAMS: readonly ScriptedJam[] = [
  {
    devices: ['tc-ql60-rach-mieu-north', 'tc-rach-mieu-span1', 'tc-rach-mieu-span2'],
    road: 'QL60-rach-mieu',
    fromMs: localTime(2026, 1, 13, 6, 40),
    toMs: localTime(2026, 1, 13, 7, 30),
    queueKmh: 7,
    rampMin: 4,
  },
  {
    devices: ['tc-ql1-trung-luong'],
    road: 'QL1',
    fromMs: localTime(2026, 1, 13, 6, 45),
    toMs: localTime(2026, 1, 13, 7, 35),
    queueKmh: 11,
    rampMin: 6,
  },
]

/** Share of the model's speed a counter keeps at simulated t (1: no jam). */
export function jamSpeedFactor(device: DeviceRecord, t: number, seed: number): number {
  let f = 1
  for (const j of RUSH_HOUR_JAMS) {
    if (!j.devices.includes(device.id) || t < j.fromMs || t > j.toMs + j.rampMin * 60_000) continue
    const ramp = j.rampMin * 60_000
    const depth = clamp(Math.min((t - j.fromMs) / ramp, (j.toMs + ramp - t) / ramp), 0, 1)
    const toQueue = Math.min(1, j.queueKmh / trafficModel(device, t, seed).speedKmh)
    f = Math.min(f, 1 - (1 - toQueue) * depth)
  }
  return f
}

/** A reading in the jam: slower, a little less flow, the detector covered longer (occupancy ∝ flow ÷ speed). */
export const jammedReading =
  (seed: number) =>
  (device: DeviceRecord, t: number, reading: DeviceReading): DeviceReading => {
    if (reading.kind !== 'traffic') return reading
    const s = jamSpeedFactor(device, t, seed)
    if (s === 1) return reading
    const flow = 0.75 + 0.25 * s
    const scale = (n: number | undefined) => (n === undefined ? undefined : Math.round(n * flow))
    const motorbikeCount = scale(reading.motorbikeCount)
    const carCount = scale(reading.carCount)
    const truckBusCount = scale(reading.truckBusCount)
    const split = motorbikeCount !== undefined && carCount !== undefined && truckBusCount !== undefined
    return {
      ...reading,
      vehicleCount: split ? motorbikeCount + carCount + truckBusCount : Math.round(reading.vehicleCount * flow),
      ...(motorbikeCount !== undefined ? { motorbikeCount } : {}),
      ...(carCount !== undefined ? { carCount } : {}),
      ...(truckBusCount !== undefined ? { truckBusCount } : {}),
      avgSpeedKmh: round(Math.max(3, reading.avgSpeedKmh * s), 1),
      occupancyPct: round(clamp((reading.occupancyPct * flow) / s, 0, 95), 1),
    }
  }

/** The built-in congestion rule's speed lines this story's incidents assume (tests check they agree). */
export const CONGESTION_RULE_ASSUMED: RuleAssumption & { speedLevels: { set: number; clear: number }[] } = {
  ruleId: 'congestion',
  raiseHoldS: 300,
  clearHoldS: 600,
  speedLevels: [
    { set: 15, clear: 22 },
    { set: 10, clear: 15 },
  ],
}

/**
 * The congestion incidents the jams cause, judged on the speed lines alone (occupancy can only add levels: the rule
 * matches any). Declared up to the first level the jam surely reaches, with "may reach" the top level, and no clear:
 * after the tow truck the everyday peak still sits within the noise of the lines, so when the road clears is the
 * noise's to say.
 */
export function congestionIncidents(fleet: readonly DeviceRecord[], seed: number, speed: number, pace: Pace): IncidentExpectation[] {
  const rule = CONGESTION_RULE_ASSUMED
  const margin = 3 * TRAFFIC_SPEED_NOISE
  const out: IncidentExpectation[] = []
  for (const jam of RUSH_HOUR_JAMS) {
    const counters = fleet.filter((d) => d.kind === 'traffic' && d.road === jam.road)
    if (counters.length === 0) continue
    const samples: LevelSample[] = []
    for (let t = RUSH_HOUR_START_MS; t <= RUSH_HOUR_START_MS + RUSH_HOUR_DURATION_MS; t += 60_000) {
      const kmh = counters.map((d) => trafficModel(d, t, seed).speedKmh * jamSpeedFactor(d, t, seed))
      const slowest = Math.min(...kmh)
      samples.push({
        realMs: realOffset(RUSH_HOUR_START_MS, t, speed, pace),
        sure: rule.speedLevels.filter((l) => slowest <= l.set * (1 - margin)).length,
        maybe: rule.speedLevels.filter((l) => slowest < l.clear * (1 + margin)).length,
        could: rule.speedLevels.filter((l) => slowest < l.set * (1 + margin)).length,
        intervalMs: (1.1 * Math.max(...counters.map((d) => d.intervalS)) * 1000) / speedAt(t, speed, pace),
      })
    }
    for (const i of incidentsOf(rule, jam.road, samples)) {
      const rising = i.levels.filter((l, k) => k === 0 || l > i.levels[k - 1]!)
      const upTo = i.levels.findIndex((l, k) => k > 0 && l <= i.levels[k - 1]!)
      const levels = upTo === -1 ? rising : i.levels.slice(0, upTo)
      const top = rule.speedLevels.length
      out.push({ ruleId: i.ruleId, subject: i.subject, levels, byRealMs: i.byRealMs, ...(Math.max(...levels) < top ? { mayReach: top } : {}) })
    }
  }
  return out.sort((a, b) => a.byRealMs - b.byRealMs || a.subject.localeCompare(b.subject))
}
/** "Congested" on the national roads and the bridge, km/h. */
export const CONGESTED_KMH = 25

export interface RushHourScenario extends ScenarioBase {
  name: 'rush-hour'
  expectations: SpeedExpectation[]
}

/**
 * Windows of at least 10 minutes where a counter's noise-free speed stays ≤ (1 − 3.5 σ) of the threshold,
 * so each reading inside them is below it despite the noise.
 */
export function speedExpectations(
  counters: readonly DeviceRecord[],
  seed: number,
  speed: number,
  belowKmh = CONGESTED_KMH,
  pace: Pace = [],
): SpeedExpectation[] {
  const out: SpeedExpectation[] = []
  const limit = belowKmh * (1 - 3.5 * TRAFFIC_SPEED_NOISE)
  const stepMs = 60_000
  const end = RUSH_HOUR_START_MS + RUSH_HOUR_DURATION_MS
  for (const device of counters) {
    let from: number | undefined
    for (let t = RUSH_HOUR_START_MS; t <= end + stepMs; t += stepMs) {
      const slow = t <= end && trafficModel(device, t, seed).speedKmh <= limit
      if (slow && from === undefined) from = t
      if (!slow && from !== undefined) {
        const to = t - stepMs
        if (to - from >= 10 * 60_000)
          out.push({
            deviceId: device.id,
            road: device.road ?? '',
            belowKmh,
            from,
            to,
            fromLocal: localLabel(from),
            toLocal: localLabel(to),
            realFromMs: realOffset(RUSH_HOUR_START_MS, from, speed, pace),
            realToMs: realOffset(RUSH_HOUR_START_MS, to, speed, pace),
          })
        from = undefined
      }
    }
  }
  return out.sort((a, b) => a.from - b.from || a.deviceId.localeCompare(b.deviceId))
}

export function rushHour(opts: BuildOptions): RushHourScenario {
  const speed = opts.speed ?? RUSH_HOUR_SPEED
  const pace = opts.speed === undefined ? RUSH_HOUR_PACE : []
  const counters = opts.fleet.filter((d) => d.kind === 'traffic' && (roadClass(d) === 'national' || roadClass(d) === 'bridge'))
  return {
    name: 'rush-hour',
    summary:
      'Tuesday 13 Jan 2026 05:00–20:00: a truck broken down on the Rạch Miễu bridge at 06:40 jams the bridge, then QL1 at Trung Lương (congestion within 10 minutes); morning and evening rush slow QL1 and QL60 below 25 km/h',
    startMs: RUSH_HOUR_START_MS,
    speed,
    pace,
    durationMs: RUSH_HOUR_DURATION_MS,
    devices: opts.fleet.filter((d) => d.kind === 'traffic' || d.kind === 'air_quality').map((d) => d.id),
    // The windows hold without the jams too (a jam only slows a road further).
    expectations: speedExpectations(counters, opts.seed, speed, CONGESTED_KMH, pace),
    adjust: jammedReading(opts.seed),
    incidents: congestionIncidents(opts.fleet, opts.seed, speed, pace),
  }
}
