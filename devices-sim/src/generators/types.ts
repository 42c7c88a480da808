import type { DeviceKind, DeviceReading, DeviceRecord } from '@mytho/schema'
import type { Rng } from '../prng.ts'

/**
 * What a device remembers between readings. Immutable: `nextReading` returns the next state, so
 * generators stay pure and a scenario (later) can fork or rewind a device by keeping old states.
 */
export interface DeviceState {
  /** The world seed (SIM_SEED): shared weather (storms, surge) is keyed by it. */
  readonly seed: number
  /** Sequence number the next reading carries. */
  readonly seq: number
  /** Simulated time of the previous reading, ms UTC; counts and rain cover [lastT, t]. */
  readonly lastT: number | undefined
}

/** The reading type of one kind, e.g. ReadingOf<'rain'>. */
export type ReadingOf<K extends DeviceKind> = Extract<DeviceReading, { kind: K }>

/** The kind-specific body a generator returns; seq, batteryV and ts are added around it. */
export type ReadingBody<K extends DeviceKind> = Omit<ReadingOf<K>, 'ts' | 'seq' | 'batteryV'>

/**
 * A device generator: a pure function of the device, the simulated time t (ms UTC), its state and
 * a random stream for measurement noise. Same inputs, same reading.
 */
export type Generator<K extends DeviceKind> = (device: DeviceRecord, t: number, state: DeviceState, rng: Rng) => ReadingBody<K>

/** Seconds the reading covers: since the previous reading, else the device's nominal interval; 1 … 3600. */
export function coveredSeconds(device: DeviceRecord, t: number, state: DeviceState): number {
  const s = state.lastT !== undefined && state.lastT < t ? (t - state.lastT) / 1000 : device.intervalS
  return Math.min(3600, Math.max(1, Math.round(s)))
}
