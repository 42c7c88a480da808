import type { DeviceRecord } from '@mytho/schema'
import { TRAFFIC_SPEED_NOISE, roadClass, trafficModel } from '../generators/index.ts'
import { HOUR_MS, localTime } from '../generators/time.ts'
import { localLabel, realOffset } from './timeline.ts'
import type { BuildOptions, ScenarioBase, SpeedExpectation } from './types.ts'

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
export function speedExpectations(counters: readonly DeviceRecord[], seed: number, speed: number, belowKmh = CONGESTED_KMH): SpeedExpectation[] {
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
            realFromMs: realOffset(RUSH_HOUR_START_MS, from, speed),
            realToMs: realOffset(RUSH_HOUR_START_MS, to, speed),
          })
        from = undefined
      }
    }
  }
  return out.sort((a, b) => a.from - b.from || a.deviceId.localeCompare(b.deviceId))
}

export function rushHour(opts: BuildOptions): RushHourScenario {
  const speed = opts.speed ?? RUSH_HOUR_SPEED
  const counters = opts.fleet.filter((d) => d.kind === 'traffic' && (roadClass(d) === 'national' || roadClass(d) === 'bridge'))
  return {
    name: 'rush-hour',
    summary: 'Tuesday 13 Jan 2026 05:00–20:00: morning and evening rush slow QL1, QL60 and the Rạch Miễu approaches below 25 km/h',
    startMs: RUSH_HOUR_START_MS,
    speed,
    durationMs: RUSH_HOUR_DURATION_MS,
    devices: opts.fleet.filter((d) => d.kind === 'traffic' || d.kind === 'air_quality').map((d) => d.id),
    expectations: speedExpectations(counters, opts.seed, speed),
  }
}
