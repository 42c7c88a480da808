import { describe, expect, it } from 'vitest'
import { type AirQualityReading, loadRegistryFile } from '@mytho/schema'
import type { z } from 'zod'
import { initialState, nextReading } from './index.ts'
import { DAY_MS, HOUR_MS, localTime } from './time.ts'

type Air = z.infer<typeof AirQualityReading>
const nodes = loadRegistryFile().devices.filter((d) => d.kind === 'air_quality')
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length

describe('PM2.5 (facts §4 "Air quality")', () => {
  it('stays within plausible bounds all year at every node, dry season higher than wet', () => {
    const year = localTime(2025, 1, 1)
    const dry: number[] = []
    const wet: number[] = []
    for (const d of nodes)
      for (let t = year; t < year + 365 * DAY_MS; t += 7 * HOUR_MS) {
        const r = nextReading(d, t, initialState(1)).reading as Air
        expect(r.pm25UgM3, d.id).toBeGreaterThanOrEqual(2)
        expect(r.pm25UgM3, d.id).toBeLessThanOrEqual(200)
        expect(r.pm10UgM3!).toBeGreaterThan(r.pm25UgM3)
        expect(r.tempC!).toBeGreaterThan(18)
        expect(r.tempC!).toBeLessThan(38)
        const month = new Date(t + 7 * HOUR_MS).getUTCMonth() + 1
        if (month <= 3 || month === 12) dry.push(r.pm25UgM3)
        if (month >= 6 && month <= 8) wet.push(r.pm25UgM3)
      }
    expect(mean(dry)).toBeGreaterThan(25)
    expect(mean(dry)).toBeLessThan(50)
    expect(mean(wet)).toBeGreaterThan(12)
    expect(mean(wet)).toBeLessThan(30)
    expect(mean(dry)).toBeGreaterThan(1.3 * mean(wet))
  })

  it('peaks about two hours after the morning rush and dips in the afternoon', () => {
    const node = nodes.find((d) => d.id === 'aq-my-tho')!
    const at = (hour: number) =>
      mean(
        Array.from({ length: 60 }, (_, i) => (nextReading(node, localTime(2025, 1, 1) + i * DAY_MS + hour * HOUR_MS, initialState(1)).reading as Air).pm25UgM3),
      )
    expect(at(9.25)).toBeGreaterThan(at(7))
    expect(at(9.25)).toBeGreaterThan(1.4 * at(15))
  })

  it('is higher at the Trung Lương roadside than at a ward background node', () => {
    const roadside = nodes.find((d) => d.id === 'aq-trung-luong')!
    const ward = nodes.find((d) => d.id === 'aq-my-tho')!
    const avg = (d: typeof ward) =>
      mean(Array.from({ length: 200 }, (_, i) => (nextReading(d, localTime(2025, 3, 1) + i * 3 * HOUR_MS, initialState(1)).reading as Air).pm25UgM3))
    expect(avg(roadside)).toBeGreaterThan(avg(ward) + 3)
  })
})
