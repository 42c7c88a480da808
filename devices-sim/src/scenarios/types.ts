import type { DeviceReading, DeviceRecord, WaterAlarmLevel } from '@mytho/schema'
import type { FaultMix } from '../faults/kinds.ts'
import type { Pace } from './timeline.ts'

/*
 * A scenario is what an operator demos and a test checks: where the simulated clock starts, how
 * fast it runs, which devices play, what is changed in the world or in the devices, and what the
 * platform is expected to show as a result. Expectations are computed from the same models the
 * readings come from (noise left out, a safety margin of ≥ 3 σ of the sensor noise added), for
 * the seed and fleet the scenario was built with.
 */
export const scenarioNames = ['city', 'king-tide', 'rush-hour', 'sensor-faults', 'load'] as const
export type ScenarioName = (typeof scenarioNames)[number]

/**
 * A station's readings first reach `level` (threshold `min`, cm) between `notBefore` and `by`: by
 * `by` the level stands ≥ 3 σ of gauge noise above the threshold; before `notBefore` it stays
 * ≥ 3 σ below it. (A near miss on the previous day's high water widens the window honestly.)
 */
export interface WaterExpectation {
  deviceId: string
  level: WaterAlarmLevel
  min: number
  /** Simulated time, ms UTC. */
  notBefore: number
  by: number
  /** Real ms after the simulator starts at the scenario's speed. */
  realOffsetMs: number
}

/** A road counter is expected to report mean speeds below `belowKmh` throughout [from, to]. */
export interface SpeedExpectation {
  deviceId: string
  road: string
  belowKmh: number
  /** Simulated ms UTC, and the same as local clock time (UTC+7) for people. */
  from: number
  to: number
  fromLocal: string
  toLocal: string
  realFromMs: number
  realToMs: number
}

/**
 * An incident the scenario must cause on a platform running the built-in alert rules, under `npm start` with
 * the scenario's own pacing: the rule, the subject (device id, or road for congestion), the severity path its
 * raise and escalations take (e.g. [1, 2, 3] for BĐ I → II → III), and by when (real ms after the simulator
 * starts) the last level of that path is in force; `clearedByRealMs` when the story clears it too. Computed from
 * the noise-free models with a margin of ≥ 3 σ and the rules' holds measured on real time, plus a reading
 * interval of slack for each hold.
 */
export interface IncidentExpectation {
  ruleId: string
  subject: string
  levels: number[]
  byRealMs: number
  /**
   * A near miss: the noise may take the incident up to this level (the model passes within 3 σ of its line). It may
   * do so at any step, the raise included: a reading past both the sure level's line and this one starts both holds
   * at once, and the rule then raises (or escalates) straight to the higher level.
   */
  mayReach?: number
  clearedByRealMs?: number
}

/** The part of an alert rule a scenario's incidents depend on (a copy of the built-in rule's, checked against it in tests). */
export interface RuleAssumption {
  ruleId: string
  raiseHoldS: number
  clearHoldS: number
}

export interface BuildOptions {
  seed: number
  /** The registry's devices (the scenario picks the ones it plays from them). */
  fleet: readonly DeviceRecord[]
  /** Simulated seconds per real second; default the scenario's own. */
  speed?: number | undefined
}

export interface ScenarioBase {
  name: ScenarioName
  summary: string
  /** Simulated clock start, ms UTC (undefined: now). */
  startMs: number | undefined
  speed: number
  /** Slower or faster stretches of the story (timeline.ts); ignored when SIM_SPEED is set. */
  pace?: Pace
  /** Incidents the scenario must cause with the built-in rules (empty: none declared). */
  incidents: IncidentExpectation[]
  /** How long the scenario's story takes, simulated ms (undefined: open-ended). */
  durationMs: number | undefined
  /** Device ids that play ('all': the whole registry). */
  devices: 'all' | readonly string[]
  /** Per-message faults (see faults/kinds.ts). */
  faults?: FaultMix
  /** Changes a generated reading at simulated time t (the scenario's world, e.g. a storm surge). */
  adjust?: (device: DeviceRecord, t: number, reading: DeviceReading) => DeviceReading
}
