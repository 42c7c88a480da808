import type { BuildOptions, ScenarioBase } from './types.ts'

/** The default: the whole fleet on the models alone, from SIM_START (default now), at SIM_SPEED. */
export interface CityScenario extends ScenarioBase {
  name: 'city'
}

export const city = (opts: BuildOptions): CityScenario => ({
  name: 'city',
  summary: 'the whole fleet on the city models, no script',
  startMs: undefined,
  speed: opts.speed ?? 1,
  durationMs: undefined,
  devices: 'all',
  incidents: [],
})
