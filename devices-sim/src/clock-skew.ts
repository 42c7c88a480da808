import { hash32 } from './prng.ts'

/*
 * Real device clocks drift: a few devices (about 6 %, chosen by seed) run 20–150 s fast or slow.
 * That is within ingest's 5-minute future tolerance, so their readings are stored with their own
 * (slightly wrong) ts: a chart shows them a little early or late, as a real fleet would.
 */
export function clockSkewMs(seed: number, deviceId: string): number {
  const h = hash32(seed, 'clock-skew', deviceId)
  if (h % 1000 >= 60) return 0
  const u = (Math.floor(h / 1000) % 1000) / 1000
  const sign = (h >>> 20) & 1 ? 1 : -1
  return sign * Math.round((20 + 130 * u) * 1000)
}
