import { describe, expect, it } from 'vitest'
import { loadRegistryFile } from '@mytho/schema'
import { mulberry32 } from '../prng.ts'
import { batteryVoltage } from './battery.ts'
import { HOUR_MS, localTime } from './time.ts'

const reg = loadRegistryFile()
const stations = reg.devices.filter((d) => d.batteryPowered)

describe('solar-charged 12 V batteries', () => {
  it('only run in battery-powered stations, between ~12 and 13.5 V all year', () => {
    expect(stations.length).toBeGreaterThan(0)
    const rng = mulberry32(1)
    for (const d of stations)
      for (let t = localTime(2025, 1, 1); t < localTime(2026, 1, 1); t += 13 * HOUR_MS) {
        const v = batteryVoltage(d, t, 1, rng)
        expect(v).toBeGreaterThanOrEqual(11.9)
        expect(v).toBeLessThanOrEqual(13.55)
      }
  })

  it('drain through the night and recharge slowly after sunrise', () => {
    const d = stations[0]!
    const rng = mulberry32(1)
    const day = localTime(2025, 2, 10)
    const v = (h: number) => batteryVoltage(d, day + h * HOUR_MS, 1, rng)
    expect(v(5.9)).toBeLessThan(v(19) - 0.2) // dawn below evening rest
    expect(v(8)).toBeGreaterThan(v(5.9)) // charging…
    expect(v(8)).toBeLessThan(v(16)) // …slowly, over hours
    expect(v(16) - v(5.9)).toBeGreaterThan(0.4)
  })
})
