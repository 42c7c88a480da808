import type { DeviceRecord } from '@mytho/schema'
import type { SimConfig } from './config.ts'
import { type Scenario, buildScenario } from './scenarios/index.ts'
import type { SimulatorConfig } from './simulator.ts'

/**
 * The simulator configuration a scenario asks for: its clock start and speed (SIM_SPEED given
 * explicitly wins, and the expectations are rebuilt for it), its devices unless SIM_DEVICES names
 * some, its faults unless SIM_FAULTS is set, and its change to the world.
 */
export function scenarioSetup(
  config: SimConfig,
  fleet: readonly DeviceRecord[],
  opts: { speedGiven: boolean },
): { scenario: Scenario; config: SimulatorConfig } {
  if (config.SIM_SCENARIO === 'load') throw new Error('load is a mode of its own: use runLoad')
  const scenario = buildScenario(config.SIM_SCENARIO, { seed: config.SIM_SEED, fleet, speed: opts.speedGiven || config.SIM_SCENARIO === 'city' ? config.SIM_SPEED : undefined })
  const faults = config.SIM_FAULTS ?? scenario.faults
  return {
    scenario,
    config: {
      ...config,
      SIM_START: scenario.startMs ?? config.SIM_START,
      SIM_SPEED: scenario.speed,
      SIM_DEVICES: config.SIM_DEVICES === 'all' ? scenario.devices : config.SIM_DEVICES,
      ...(faults ? { faults } : {}),
      ...(scenario.adjust ? { adjust: scenario.adjust } : {}),
    },
  }
}
