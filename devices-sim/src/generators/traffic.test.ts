import { describe, expect, it } from 'vitest'
import { type DeviceRecord, type TrafficReading, loadRegistryFile } from '@mytho/schema'
import type { z } from 'zod'
import { initialState, nextReading } from './index.ts'
import { roadClass } from './traffic.ts'
import { localTime } from './time.ts'

type Traffic = z.infer<typeof TrafficReading>
const counters = loadRegistryFile().devices.filter((d) => d.kind === 'traffic')
const at = (d: DeviceRecord, t: number, seed = 1) => nextReading(d, t, initialState(seed)).reading as Traffic

// Wednesday 8 October 2025 and the Wednesday before it, local time.
const weekdays = [localTime(2025, 10, 8), localTime(2025, 10, 1)]

describe('traffic counters (facts §3)', () => {
  it('count more at 07:15 local on a weekday than at 03:00, on every road', () => {
    for (const d of counters)
      for (const day of weekdays) {
        const rush = at(d, day + 7.25 * 3_600_000)
        const night = at(d, day + 3 * 3_600_000)
        expect(rush.vehicleCount, d.id).toBeGreaterThan(night.vehicleCount * 3)
      }
  })

  it('keep per-lane flows in the sheet’s ranges and motorbikes the majority', () => {
    for (const d of counters) {
      const r = at(d, weekdays[0]! + 7.25 * 3_600_000)
      const perLaneMin = r.vehicleCount / 2 / (r.intervalS / 60)
      const peakRange = roadClass(d) === 'bridge' ? [7, 22] : roadClass(d) === 'inner' ? [18, 48] : [22, 62]
      expect(perLaneMin, d.id).toBeGreaterThanOrEqual(peakRange[0]!)
      expect(perLaneMin, d.id).toBeLessThanOrEqual(peakRange[1]!)
      expect(r.motorbikeCount! + r.carCount! + r.truckBusCount!).toBe(r.vehicleCount)
      expect(r.motorbikeCount! / r.vehicleCount, d.id).toBeGreaterThan(0.5)
    }
  })

  it('slow QL1, QL60 and Rạch Miễu to congested speeds at the evening peak, free-flowing at night', () => {
    for (const d of counters.filter((c) => roadClass(c) === 'national' || roadClass(c) === 'bridge')) {
      const peak = at(d, weekdays[0]! + 17.5 * 3_600_000)
      const night = at(d, weekdays[0]! + 2 * 3_600_000)
      expect(peak.avgSpeedKmh, d.id).toBeLessThan(30)
      expect(night.avgSpeedKmh, d.id).toBeGreaterThan(45)
      expect(peak.occupancyPct).toBeGreaterThan(night.occupancyPct)
    }
  })

  it('report occupancy consistent with count and speed, over the interval since the last reading', () => {
    const d = counters.find((c) => c.id === 'tc-hung-vuong-nga-tu')!
    const t = weekdays[0]! + 12 * 3_600_000
    const first = nextReading(d, t - 60_000, initialState(1))
    const r = nextReading(d, t, first.state).reading as Traffic
    expect(r.intervalS).toBe(60)
    const longer = nextReading(d, t, { ...first.state, lastT: t - 300_000 }).reading as Traffic
    expect(longer.intervalS).toBe(300)
    expect(longer.vehicleCount).toBeGreaterThan(r.vehicleCount * 3)
    // Occupancy = flow per lane × effective length ÷ speed: more vehicles at the same speed, more occupancy.
    const lengthM = (x: Traffic) => (x.motorbikeCount! * 0.7 + x.carCount! * 5.5 + x.truckBusCount! * 12) / x.vehicleCount
    const expected = (100 * (r.vehicleCount / 2 / r.intervalS) * lengthM(r)) / (r.avgSpeedKmh / 3.6)
    expect(r.occupancyPct).toBeCloseTo(expected, 0)
  })

  it('a weekend morning is quieter than a weekday morning', () => {
    const saturday = localTime(2025, 10, 11)
    let weekday = 0
    let weekend = 0
    for (const d of counters) {
      weekday += at(d, weekdays[0]! + 7.25 * 3_600_000).vehicleCount
      weekend += at(d, saturday + 7.25 * 3_600_000).vehicleCount
    }
    expect(weekend).toBeLessThan(weekday * 0.85)
  })
})
