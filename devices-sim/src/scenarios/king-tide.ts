import { type DeviceReading, type DeviceRecord, WATER_LEVEL_ALARMS_CM } from '@mytho/schema'
import { WATER_NOISE_CM, astronomicalLevelCm, surgeCm, waterLevelModelCm } from '../generators/index.ts'
import { HOUR_MS, clamp, localTime, round } from '../generators/time.ts'
import { type LevelSample, incidentsOf } from './incidents.ts'
import { type Pace, realOffset, speedAt } from './timeline.ts'
import type { BuildOptions, IncidentExpectation, RuleAssumption, ScenarioBase, WaterExpectation } from './types.ts'

/*
 * King tide (triều cường) of the 8th lunar month: full moon on 7 Oct 2025, spring high waters in the
 * late afternoon, the Mekong flood raising the mean (../shared/data/mytho-facts.md §2 "When": the
 * year's highest in lunar months 8–10; Sept 2024 bulletins: Mỹ Tho 1.75–1.85 m, 15–25 cm over BĐ III).
 * On top of the astronomical tide, a scripted surge (upstream flood plus north-east wind set-up)
 * replaces the seeded day-to-day one. It is fitted so the afternoon highs at the Mỹ Tho station
 * (riverside downtown) are 147, 157 and 172 cm on 5, 6 and 7 Oct: through BĐ I, BĐ II and BĐ III on
 * successive afternoons whatever the seed (gauge offsets are ±3 cm); canal gauges follow with
 * their lag, damped.
 */
/*
 * Played (`npm start`, SIM_SCENARIO=king-tide) from 14:40 on 7 Oct, the day of BĐ III, paced so the flood rule's
 * holds are really met on wall time (readings carry real time; the rule holds 5 minutes to raise, 15 to clear): at
 * 60× to just below BĐ I; at 24× the river rises through BĐ I, II and III (each crossing a few readings apart, so
 * each level is its own step); at 12× it stays above BĐ III for more than five minutes of wall time after its
 * crossing; at 24× it falls and stays below every level for more than 15 minutes before the next high water, so
 * the incidents clear (about 29–31 minutes after the start).
 */
export const KING_TIDE_START_MS = localTime(2025, 10, 7, 14, 40)
/** Until 03:40 on 8 Oct: the fall, the low water and the clears. */
export const KING_TIDE_DURATION_MS = 13 * HOUR_MS
/** Speed after the paced stretches (the fall and the night). */
export const KING_TIDE_SPEED = 24
export const KING_TIDE_PACE: Pace = [
  // Quickly to just below BĐ I, so the story starts dry and each level's crossing is its own.
  { untilMs: localTime(2025, 10, 7, 15, 5), speed: 60 },
  { untilMs: localTime(2025, 10, 7, 16, 20), speed: 24 },
  { untilMs: localTime(2025, 10, 7, 18), speed: 12 },
]
/** The built-in flood rule this story's incidents assume (packages/alerts default-rules; tests check they agree). */
export const FLOOD_RULE_ASSUMED: RuleAssumption & { levels: { set: number; clear: number }[] } = {
  ruleId: 'flood',
  raiseHoldS: 300,
  clearHoldS: 900,
  levels: WATER_LEVEL_ALARMS_CM.map((s) => ({ set: s.min, clear: s.min - 5 })),
}
/** Afternoon high waters at the Mỹ Tho station, cm, on 5, 6 and 7 Oct 2025. */
export const KING_TIDE_PEAKS_CM = [147, 157, 172] as const

/** Surge anchors (time of each afternoon high, surge making it the target), fitted once. */
const anchors: ReadonlyArray<{ t: number; cm: number }> = KING_TIDE_PEAKS_CM.map((target, day) => {
  let best = -Infinity
  let at = 0
  for (let t = localTime(2025, 10, 5 + day, 12); t < localTime(2025, 10, 5 + day, 22); t += 60_000) {
    const v = astronomicalLevelCm(t)
    if (v > best) [best, at] = [v, t]
  }
  return { t: at, cm: target - best }
})

/** The scripted surge at simulated t, cm: linear between the afternoon highs, flat outside. */
export function kingTideSurgeCm(t: number): number {
  const first = anchors[0]!
  const last = anchors[anchors.length - 1]!
  if (t <= first.t) return first.cm
  if (t >= last.t) return last.cm
  const i = anchors.findIndex((a) => a.t > t)
  const a = anchors[i - 1]!
  const b = anchors[i]!
  return a.cm + ((b.cm - a.cm) * (t - a.t)) / (b.t - a.t)
}

/** Margin over a threshold before a station counts as having reached it: ≥ 3 σ of gauge noise. */
const MARGIN_CM = 3 * WATER_NOISE_CM + 0.5

export interface KingTideScenario extends ScenarioBase {
  name: 'king-tide'
  expectations: WaterExpectation[]
}

/** The flood incidents each gauge's story causes under the built-in rule (per-level holds on real time). */
export function floodIncidents(gauges: readonly DeviceRecord[], seed: number, speed: number, pace: Pace): IncidentExpectation[] {
  const rule = FLOOD_RULE_ASSUMED
  const out: IncidentExpectation[] = []
  for (const device of gauges) {
    const samples: LevelSample[] = []
    for (let t = KING_TIDE_START_MS; t <= KING_TIDE_START_MS + KING_TIDE_DURATION_MS; t += device.intervalS * 1000) {
      const level = waterLevelModelCm(device, t, seed, kingTideSurgeCm)
      samples.push({
        realMs: realOffset(KING_TIDE_START_MS, t, speed, pace),
        sure: rule.levels.filter((l) => level >= l.set + MARGIN_CM).length,
        maybe: rule.levels.filter((l) => level > l.clear - MARGIN_CM).length,
        could: rule.levels.filter((l) => level > l.set - MARGIN_CM).length,
        // Jitter (±10 %) included.
        intervalMs: (1.1 * device.intervalS * 1000) / speedAt(t, speed, pace),
      })
    }
    out.push(...incidentsOf(rule, device.id, samples))
  }
  return out.sort((a, b) => a.byRealMs - b.byRealMs || a.subject.localeCompare(b.subject))
}

/** When each water-level gauge first reaches each alarm level (noise-free model + margin), within the scenario. */
export function waterExpectations(gauges: readonly DeviceRecord[], seed: number, speed: number, pace: Pace = []): WaterExpectation[] {
  const out: WaterExpectation[] = []
  const stepMs = 60_000
  for (const device of gauges) {
    const pending = [...WATER_LEVEL_ALARMS_CM]
    const near = new Map<number, number>()
    for (let t = KING_TIDE_START_MS; t <= KING_TIDE_START_MS + KING_TIDE_DURATION_MS && pending.length > 0; t += stepMs) {
      const level = waterLevelModelCm(device, t, seed, kingTideSurgeCm)
      for (const s of pending) if (!near.has(s.min) && level > s.min - MARGIN_CM) near.set(s.min, t - stepMs)
      while (pending[0] && level >= pending[0].min + MARGIN_CM) {
        const step = pending.shift()!
        const notBefore = Math.max(KING_TIDE_START_MS, near.get(step.min) ?? t)
        out.push({ deviceId: device.id, level: step.level, min: step.min, notBefore, by: t, realOffsetMs: realOffset(KING_TIDE_START_MS, t, speed, pace) })
      }
    }
  }
  return out.sort((a, b) => a.by - b.by || a.deviceId.localeCompare(b.deviceId))
}

export function kingTide(opts: BuildOptions): KingTideScenario {
  const speed = opts.speed ?? KING_TIDE_SPEED
  // A speed given by hand is one speed throughout; the pacing is for the scenario's own.
  const pace = opts.speed === undefined ? KING_TIDE_PACE : []
  const gauges = opts.fleet.filter((d) => d.kind === 'water_level')
  return {
    name: 'king-tide',
    summary:
      'Triều cường 7 Oct 2025 from 14:40: river stations rise through BĐ I, II, III (paced so each level holds 5 min of wall time); Bảo Định canal follows with a lag; all clear after the fall',
    startMs: KING_TIDE_START_MS,
    speed,
    pace,
    durationMs: KING_TIDE_DURATION_MS,
    // Every device plays (the city goes on); the water gauges carry the story.
    devices: 'all',
    adjust: (device: DeviceRecord, t: number, reading: DeviceReading): DeviceReading => {
      if (reading.kind !== 'water_level') return reading
      // Swap the seeded surge for the scripted one, at the gauge's lagged time, damping included.
      const delta = waterLevelModelCm(device, t, opts.seed, kingTideSurgeCm) - waterLevelModelCm(device, t, opts.seed, (tt) => surgeCm(tt, opts.seed))
      return { ...reading, waterLevelCm: round(clamp(reading.waterLevelCm + delta, -400, 600), 1) }
    },
    expectations: waterExpectations(gauges, opts.seed, speed, pace),
    incidents: floodIncidents(gauges, opts.seed, speed, pace),
  }
}
