import { hash32 } from '../prng.ts'
import { type FaultKind, type FaultMix, faultKinds } from './kinds.ts'

/*
 * Which message carries which fault is a pure function of (seed, device, seq): not a coin tossed at
 * send time. So the same seed gives the same faults, and the counts a platform should show for the
 * messages actually sent can be computed exactly afterwards (countFaults), not only on average.
 */

/** The fault of a device's message `seq`, or undefined for a clean one. */
export function faultFor(seed: number, deviceId: string, seq: number, mix: FaultMix): FaultKind | undefined {
  const u = hash32(seed, 'fault', deviceId, seq) / 4_294_967_296
  let edge = 0
  for (const kind of faultKinds) {
    edge += mix[kind] ?? 0
    if (u < edge) return kind
  }
  return undefined
}

export type FaultCounts = Record<FaultKind, number>

export const zeroFaultCounts = (): FaultCounts => Object.fromEntries(faultKinds.map((k) => [k, 0])) as FaultCounts

/** Exact fault counts over messages seq 0 … n−1 of each device (n per device id). */
export function countFaults(seed: number, sentPerDevice: ReadonlyMap<string, number> | Record<string, number>, mix: FaultMix): FaultCounts {
  const counts = zeroFaultCounts()
  const entries = sentPerDevice instanceof Map ? [...sentPerDevice] : Object.entries(sentPerDevice)
  for (const [id, n] of entries)
    for (let seq = 0; seq < n; seq++) {
      const f = faultFor(seed, id, seq, mix)
      if (f) counts[f]++
    }
  return counts
}
