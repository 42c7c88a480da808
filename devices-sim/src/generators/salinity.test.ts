import { describe, expect, it } from 'vitest'
import { loadRegistryFile } from '@mytho/schema'
import { salinityGL } from './salinity.ts'
import { springness } from './tide.ts'
import { localTime } from './time.ts'

const reg = loadRegistryFile()
const lacHong = reg.get('sal-lac-hong')!
const upstream = reg.get('sal-truong-chinh-tri')!

function sample(from: number, to: number, f: (t: number) => number, stepMs = 3_600_000): number[] {
  const out: number[] = []
  for (let t = from; t < to; t += stepMs) out.push(f(t))
  return out
}

describe('salinity intrusion (facts §4)', () => {
  it.each([1, 2, 3])('stays ≤ 0.2 g/L in the wet season and intrudes past 1 g/L in the dry season (seed %i)', (seed) => {
    const wet = sample(localTime(2025, 7, 1), localTime(2025, 11, 30), (t) => salinityGL(lacHong, t, seed))
    expect(Math.max(...wet)).toBeLessThanOrEqual(0.2)
    const march = sample(localTime(2025, 2, 15), localTime(2025, 4, 1), (t) => salinityGL(lacHong, t, seed))
    expect(Math.max(...march)).toBeGreaterThan(1)
    expect(Math.max(...march)).toBeLessThan(12)
  })

  it('rises with spring tides and reads lower upstream', () => {
    const times = sample(localTime(2025, 2, 1), localTime(2025, 4, 15), (t) => t)
    const springs = times.filter((t) => springness(t - 1.5 * 86_400_000) > 0.9).map((t) => salinityGL(lacHong, t, 1))
    const neaps = times.filter((t) => springness(t - 1.5 * 86_400_000) < 0.1).map((t) => salinityGL(lacHong, t, 1))
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    expect(mean(springs)).toBeGreaterThan(1.8 * mean(neaps))
    for (const t of times.slice(0, 200)) expect(salinityGL(upstream, t, 1)).toBeLessThan(salinityGL(lacHong, t, 1))
  })
})
