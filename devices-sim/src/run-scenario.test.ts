import { describe, expect, it } from 'vitest'
import { loadRegistryFile } from '@mytho/schema'
import { loadSimConfig } from './config.ts'
import { scenarioSetup } from './run-scenario.ts'
import { KING_TIDE_SPEED, KING_TIDE_START_MS } from './scenarios/king-tide.ts'
import { createSimulator } from './simulator.ts'

const fleet = loadRegistryFile().devices

describe('scenario setup from the environment', () => {
  it('takes the scenario’s start and speed unless SIM_SPEED is set, and its devices unless SIM_DEVICES is', () => {
    const own = scenarioSetup(loadSimConfig({ SIM_SCENARIO: 'king-tide' }), fleet)
    expect(own.config).toMatchObject({ SIM_START: KING_TIDE_START_MS, SIM_SPEED: KING_TIDE_SPEED, SIM_DEVICES: 'all' })
    const fast = scenarioSetup(loadSimConfig({ SIM_SCENARIO: 'king-tide', SIM_SPEED: '1440', SIM_DEVICES: 'wl-hydro-station' }), fleet)
    expect(fast.config).toMatchObject({ SIM_SPEED: 1440, SIM_DEVICES: ['wl-hydro-station'] })
    // Expectations follow the speed: the same simulated moment comes twice as early in real time.
    const first = (s: typeof own) => (s.scenario.name === 'king-tide' ? s.scenario.expectations[0]!.realOffsetMs : NaN)
    const slow = scenarioSetup(loadSimConfig({ SIM_SCENARIO: 'king-tide', SIM_SPEED: '720' }), fleet)
    expect(Math.abs(first(fast) - first(slow) / 2)).toBeLessThanOrEqual(1)
    // The scenario's own speed comes with its pacing; a speed given by hand is one speed throughout.
    expect(own.config.pace?.length).toBeGreaterThan(0)
    expect(fast.config).not.toHaveProperty('pace')
    const rush = scenarioSetup(loadSimConfig({ SIM_SCENARIO: 'rush-hour' }), fleet)
    expect(rush.config.SIM_DEVICES).not.toBe('all')
  })

  it('SIM_FAULTS replaces a scenario’s mix; city with SIM_FAULTS is the city with faults', () => {
    expect(scenarioSetup(loadSimConfig({ SIM_SCENARIO: 'sensor-faults', SIM_FAULTS: 'spike=0.5' }), fleet).config.faults).toEqual({ spike: 0.5 })
    expect(scenarioSetup(loadSimConfig({ SIM_FAULTS: 'duplicate=0.1' }), fleet).config).toMatchObject({ SIM_SPEED: 1, faults: { duplicate: 0.1 } })
    expect(scenarioSetup(loadSimConfig({}), fleet).config).not.toHaveProperty('faults')
  })

  it('createSimulator plays SIM_SCENARIO when used as a library', () => {
    const sim = createSimulator({ ...loadSimConfig({ SIM_SCENARIO: 'king-tide', SIM_SPEED: '720' }), statsLogEveryMs: 0 }, { registry: fleet })
    expect(sim.scenario?.name).toBe('king-tide')
    expect(sim.config.SIM_START).toBe(KING_TIDE_START_MS)
    expect(typeof sim.config.adjust).toBe('function')
  })
})
