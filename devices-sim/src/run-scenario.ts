import type { DeviceRecord } from '@mytho/schema'
import type { SimConfig } from './config.ts'
import type { FaultMix } from './faults/kinds.ts'
import { type Scenario, buildScenario } from './scenarios/index.ts'
import type { ScenarioBase } from './scenarios/types.ts'

/** What a scenario reads from a configuration (env-shaped; see config.ts for units and defaults). */
export type ScenarioInput = Pick<SimConfig, 'SIM_SEED' | 'SIM_SPEED' | 'SIM_DEVICES'> &
  Partial<Pick<SimConfig, 'SIM_SCENARIO' | 'SIM_START' | 'SIM_FAULTS' | 'speedExplicit'>>

/**
 * The configuration a scenario asks for: its clock start and speed (an explicitly set SIM_SPEED
 * wins, and the expectations are built for it), its devices unless SIM_DEVICES names some, its
 * faults unless SIM_FAULTS is set, and its change to the world. `city` changes nothing but faults.
 */
export function scenarioSetup<C extends ScenarioInput>(
  config: C,
  fleet: readonly DeviceRecord[],
): { scenario: Scenario; config: C & { faults?: FaultMix; adjust?: ScenarioBase['adjust']; pace?: ScenarioBase['pace'] } } {
  const name = config.SIM_SCENARIO ?? 'city'
  if (name === 'load') throw new Error('load is a mode of its own: use runLoad')
  const speedGiven = config.speedExplicit !== false || name === 'city'
  const scenario = buildScenario(name, { seed: config.SIM_SEED, fleet, speed: speedGiven ? config.SIM_SPEED : undefined })
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
      // A scenario built for a speed given by hand has no pacing (one speed throughout).
      ...(scenario.pace && scenario.pace.length > 0 ? { pace: scenario.pace } : {}),
    },
  }
}
