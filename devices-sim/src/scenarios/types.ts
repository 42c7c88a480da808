import type { DeviceReading, DeviceRecord, WaterAlarmLevel } from '@mytho/schema'
import type { FaultMix } from '../faults/kinds.ts'

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
  /** How long the scenario's story takes, simulated ms (undefined: open-ended). */
  durationMs: number | undefined
  /** Device ids that play ('all': the whole registry). */
  devices: 'all' | readonly string[]
  /** Per-message faults (see faults/kinds.ts). */
  faults?: FaultMix
  /** Changes a generated reading at simulated time t (the scenario's world, e.g. a storm surge). */
  adjust?: (device: DeviceRecord, t: number, reading: DeviceReading) => DeviceReading
}
