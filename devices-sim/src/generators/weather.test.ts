import { describe, expect, it } from 'vitest'
import { type RainReading, loadRegistryFile } from '@mytho/schema'
import type { z } from 'zod'
import { initialState, nextReading } from './index.ts'
import { DAY_MS, localDayIndex, localHour, localTime } from './time.ts'
import { rainBetweenMm, rainRateMmH, stormsOfDay } from './weather.ts'

const year = localTime(2025, 1, 1)

describe('rain (facts §2 "Rain")', () => {
  it.each([1, 2, 3])('totals ~1,300–1,600 mm a year, nearly all mid-May to mid-November (seed %i)', (seed) => {
    const total = rainBetweenMm(seed, 'my-tho', year, year + 365 * DAY_MS)
    const wet = rainBetweenMm(seed, 'my-tho', localTime(2025, 5, 15), localTime(2025, 11, 15))
    expect(total).toBeGreaterThan(1000)
    expect(total).toBeLessThan(2000)
    expect(wet / total).toBeGreaterThan(0.8)
  })

  it('falls mostly in the afternoon and evening, in bursts rarely above 100 mm/h', () => {
    let afternoon = 0
    let all = 0
    let peak = 0
    for (let day = localDayIndex(year); day < localDayIndex(year) + 365; day++)
      for (const s of stormsOfDay(1, day)) {
        all++
        const h = localHour(s.startMs)
        if (h >= 14 && h < 20) afternoon++
        peak = Math.max(peak, s.peakMmH)
        expect(s.durationMs).toBeGreaterThanOrEqual(20 * 60_000)
        expect(s.durationMs).toBeLessThanOrEqual(60 * 60_000)
      }
    expect(afternoon / all).toBeGreaterThan(0.7)
    expect(peak).toBeLessThanOrEqual(150)
    expect(peak).toBeGreaterThan(30)
  })

  it('gauges report the rain of their interval and agree with the intensity', () => {
    const gauge = loadRegistryFile().get('rg-my-tho')!
    // Sum of 5-minute reports over the wet season = the rain that fell.
    let state = initialState(1)
    let reported = 0
    let maxRate = 0
    const from = localTime(2025, 6, 1)
    const to = localTime(2025, 9, 1)
    for (let t = from; t <= to; t += 300_000) {
      const next = nextReading(gauge, t, state)
      state = next.state
      const r = next.reading as z.infer<typeof RainReading>
      reported += r.rainMm
      maxRate = Math.max(maxRate, r.rainRateMmH ?? 0)
    }
    const fell = rainBetweenMm(1, gauge.ward, from, to)
    expect(Math.abs(reported - fell)).toBeLessThan(0.05 * fell)
    expect(maxRate).toBeGreaterThan(10)
    // A dry-season night reads zero.
    const dry = nextReading(gauge, localTime(2025, 2, 10, 3), initialState(1)).reading as z.infer<typeof RainReading>
    expect(dry.rainMm).toBe(0)
    expect(rainRateMmH(1, gauge.ward, localTime(2025, 2, 10, 3))).toBe(0)
  })
})
