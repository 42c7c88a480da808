import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { DeviceReading, loadRegistryFile } from '@mytho/schema'
import { generators, initialState, nextReading } from './index.ts'
import { DAY_MS, localTime } from './time.ts'

const fleet = loadRegistryFile().devices
const year = localTime(2025, 1, 1)
/** 300 instants spread over a simulated year, at uneven hours (a prime step of 29 h 12 min). */
const instants = Array.from({ length: 300 }, (_, i) => year + ((i * 29.2 * 3_600_000) % (365 * DAY_MS)))

describe('every generator, every seed-fleet device', () => {
  it('has a generator for every kind', () => {
    expect(Object.keys(generators).sort()).toEqual(['air_quality', 'rain', 'salinity', 'traffic', 'water_level'])
  })

  it('produces schema-valid readings over a simulated year', () => {
    for (const device of fleet) {
      let state = initialState(1)
      for (const t of instants.toSorted((a, b) => a - b)) {
        const next = nextReading(device, t, state)
        state = next.state
        const reading = { ...next.reading, ts: t }
        const parsed = DeviceReading.safeParse(reading)
        if (!parsed.success) throw new Error(`${device.id} at ${new Date(t).toISOString()}: ${z.prettifyError(parsed.error)}\n${JSON.stringify(reading)}`)
        expect(parsed.data.kind).toBe(device.kind)
        expect(reading.batteryV !== undefined).toBe(device.batteryPowered)
      }
      expect(state.seq).toBe(instants.length)
    }
  })

  it('is deterministic: same seed and times give the same readings; another seed does not', () => {
    const run = (seed: number) =>
      fleet.map((device) => {
        let state = initialState(seed)
        return instants.slice(0, 40).map((t) => {
          const next = nextReading(device, t, state)
          state = next.state
          return next.reading
        })
      })
    const a = run(1)
    expect(run(1)).toEqual(a)
    expect(run(2)).not.toEqual(a)
    // A reading depends on t, not on how many readings came before it (apart from the covered interval).
    const device = fleet.find((d) => d.kind === 'water_level')!
    const t = instants[7]!
    expect(nextReading(device, t, { ...initialState(1), seq: 99 }).reading).toEqual({ ...nextReading(device, t, initialState(1)).reading, seq: 99 })
  })
})
