import type { DeviceKind, DeviceReading, DeviceRecord } from '@mytho/schema'
import { type Rng, rngFor } from '../prng.ts'
import { airQualityGenerator } from './air-quality.ts'
import { batteryVoltage } from './battery.ts'
import { rainGenerator } from './rain.ts'
import { salinityGenerator } from './salinity.ts'
import { trafficGenerator } from './traffic.ts'
import type { DeviceState, Generator } from './types.ts'
import { waterLevelGenerator } from './water-level.ts'

export type { DeviceState, Generator, ReadingBody, ReadingOf } from './types.ts'
export { airQualityGenerator, pm25Level } from './air-quality.ts'
export { batteryVoltage } from './battery.ts'
export { rainGenerator } from './rain.ts'
export { salinityGenerator, salinityGL } from './salinity.ts'
export { demandShape, ROAD_PROFILES, roadClass, TRAFFIC_SPEED_NOISE, trafficGenerator, trafficModel, type RoadClass, type TrafficModel } from './traffic.ts'
export { gaugeSite, WATER_NOISE_CM, waterLevelGenerator, waterLevelModelCm } from './water-level.ts'
export { astronomicalLevelCm, meanSeaLevelCm, riverLevelCm, springness, surgeCm } from './tide.ts'
export { cloudiness, rainBetweenMm, rainRateMmH, stormsOfDay } from './weather.ts'

/** One generator per kind; a new kind fails to compile until it has one. */
export const generators: { [K in DeviceKind]: Generator<K> } = {
  traffic: trafficGenerator,
  water_level: waterLevelGenerator,
  rain: rainGenerator,
  salinity: salinityGenerator,
  air_quality: airQualityGenerator,
}

export const initialState = (seed: number): DeviceState => ({ seed: seed >>> 0, seq: 0, lastT: undefined })

/** The noise stream of one reading: keyed by (seed, device, t), so a reading never depends on how many came before. */
export const readingRng = (seed: number, deviceId: string, t: number): Rng => rngFor(seed, 'reading', deviceId, Math.round(t))

/**
 * The device's reading at simulated time t, with seq and (battery-powered devices) batteryV, and the
 * state after it. No `ts`: the simulator stamps real time (see simulator.ts). Pure.
 */
export function nextReading(
  device: DeviceRecord,
  t: number,
  state: DeviceState,
  rng: Rng = readingRng(state.seed, device.id, t),
): { reading: DeviceReading; state: DeviceState } {
  const body = (generators[device.kind] as Generator<DeviceKind>)(device, t, state, rng)
  const reading = {
    ...body,
    seq: state.seq,
    ...(device.batteryPowered ? { batteryV: batteryVoltage(device, t, state.seed, rng) } : {}),
  } as DeviceReading
  return { reading, state: { seed: state.seed, seq: state.seq + 1, lastT: t } }
}
