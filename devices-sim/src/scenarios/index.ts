import { type CityScenario, city } from './city.ts'
import { type KingTideScenario, kingTide } from './king-tide.ts'
import { type RushHourScenario, rushHour } from './rush-hour.ts'
import { type SensorFaultsScenario, sensorFaults } from './sensor-faults.ts'
import type { BuildOptions, ScenarioName } from './types.ts'

export * from './types.ts'
export * from './timeline.ts'
export * from './city.ts'
export * from './king-tide.ts'
export * from './rush-hour.ts'
export * from './sensor-faults.ts'
export * from './script.ts'
export * from './incidents.ts'

export type Scenario = CityScenario | KingTideScenario | RushHourScenario | SensorFaultsScenario

/** Builds a named scenario for a seed and fleet ('load' is a mode of its own, see load/). */
export function buildScenario(name: Exclude<ScenarioName, 'load'>, opts: BuildOptions): Scenario {
  switch (name) {
    case 'city':
      return city(opts)
    case 'king-tide':
      return kingTide(opts)
    case 'rush-hour':
      return rushHour(opts)
    case 'sensor-faults':
      return sensorFaults(opts)
  }
}
