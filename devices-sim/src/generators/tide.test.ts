import { describe, expect, it } from 'vitest'
import { loadRegistryFile } from '@mytho/schema'
import { initialState, nextReading } from './index.ts'
import { K1_LIKE_PERIOD_MS, SPRING_NEAP_PERIOD_MS, astronomicalLevelCm, meanSeaLevelCm, riverLevelCm, springness } from './tide.ts'
import { gaugeSite } from './water-level.ts'
import { recentRainMm } from './weather.ts'
import { DAY_MS, localHour, localTime } from './time.ts'

const STEP = 5 * 60_000

/** Local maxima and minima of f over [from, to), sampled every 5 minutes. */
function extremes(f: (t: number) => number, from: number, to: number) {
  const highs: Array<{ t: number; v: number }> = []
  const lows: Array<{ t: number; v: number }> = []
  let prev = f(from - STEP)
  let cur = f(from)
  for (let t = from; t < to; t += STEP) {
    const next = f(t + STEP)
    if (cur > prev && cur >= next) highs.push({ t, v: cur })
    if (cur < prev && cur <= next) lows.push({ t, v: cur })
    prev = cur
    cur = next
  }
  return { highs, lows }
}

const gauge = loadRegistryFile().get('wl-hydro-station')!
const level = (seed: number) => (t: number) => (nextReading(gauge, t, initialState(seed)).reading as { waterLevelCm: number }).waterLevelCm

/** High waters as the gauge reads them (noise included): its highest reading within an hour of each tidal high. */
function gaugeHighs(seed: number, from: number, to: number): number[] {
  return extremes(astronomicalLevelCm, from, to).highs.map((h) => {
    let max = -Infinity
    for (let t = h.t - 3_600_000; t <= h.t + 3_600_000; t += STEP) max = Math.max(max, level(seed)(t))
    return max
  })
}

describe('Tiền River tide (facts §2)', () => {
  it('has two highs and two lows in every lunar day of a year', () => {
    const start = localTime(2025, 1, 1)
    for (let t = start; t < start + 365 * DAY_MS; t += K1_LIKE_PERIOD_MS) {
      const { highs, lows } = extremes(astronomicalLevelCm, t, t + K1_LIKE_PERIOD_MS)
      // A window edge can split an extreme; over a lunar day the count is 2, never 1 or 3+ apart from that.
      expect(highs.length, new Date(t).toISOString()).toBeGreaterThanOrEqual(2)
      expect(highs.length).toBeLessThanOrEqual(3)
      expect(lows.length).toBeGreaterThanOrEqual(1)
      expect(lows.length).toBeLessThanOrEqual(3)
    }
    // …and 705–706 highs in a year: one per 12.42 h, none lost to the diurnal term at neap.
    const year = extremes(astronomicalLevelCm, start, start + 365 * DAY_MS)
    expect(year.highs.length).toBeGreaterThanOrEqual(704)
    expect(year.highs.length).toBeLessThanOrEqual(707)
    expect(year.lows.length).toBeGreaterThanOrEqual(704)
  })

  it.each([1, 2, 3])('reaches spring peaks ≥ 150 cm in October while June highs stay < 140 cm (seed %i)', (seed) => {
    const oct = gaugeHighs(seed, localTime(2025, 10, 1), localTime(2025, 11, 1))
    const jun = gaugeHighs(seed, localTime(2025, 6, 1), localTime(2025, 7, 1))
    expect(Math.max(...oct)).toBeGreaterThanOrEqual(150)
    expect(Math.max(...oct)).toBeLessThanOrEqual(185)
    expect(Math.max(...jun)).toBeLessThan(140)
    // Ordinary (median) October highs sit around 110–135 cm, below BĐ III (160 cm).
    const sorted = [...oct].sort((a, b) => a - b)
    const median = sorted[Math.floor(sorted.length / 2)]!
    expect(median).toBeGreaterThan(105)
    expect(median).toBeLessThan(140)
  })

  it('peaks near 05–07 h or 17–19 h local at spring tides, every fortnight', () => {
    const start = localTime(2025, 9, 1)
    const { highs } = extremes(astronomicalLevelCm, start, start + 120 * DAY_MS)
    const springHighs = highs.filter((h) => springness(h.t) > 0.97)
    expect(springHighs.length).toBeGreaterThan(10)
    for (const h of springHighs) {
      const hour = localHour(h.t)
      expect(Math.min(Math.abs(hour - 6), Math.abs(hour - 18)), new Date(h.t).toISOString()).toBeLessThanOrEqual(1.5)
    }
    expect(SPRING_NEAP_PERIOD_MS / DAY_MS).toBeCloseTo(14.77, 2)
  })

  it('lets canal gauges lag the river and rise with rain', () => {
    const reg = loadRegistryFile()
    const river = reg.get('wl-hydro-station')!
    const canal = reg.get('wl-bao-dinh-north')!
    const at = (d: typeof river, t: number) => (nextReading(d, t, initialState(1)).reading as { waterLevelCm: number }).waterLevelCm
    // Cross-correlate a dry day (no rain): the canal matches the river best some 100 min later.
    const from = localTime(2025, 3, 3)
    const lagScore = (lagMs: number) => {
      let s = 0
      for (let t = from; t < from + DAY_MS; t += 10 * 60_000) s += (at(canal, t + lagMs) - at(river, t)) ** 2
      return s
    }
    const lags = Array.from({ length: 19 }, (_, i) => i * 10 * 60_000)
    const best = lags.reduce((a, b) => (lagScore(b) < lagScore(a) ? b : a))
    expect(best).toBeGreaterThanOrEqual(60 * 60_000)
    expect(best).toBeLessThanOrEqual(150 * 60_000)
    // After a storm the canal stands higher than the lagged, damped river explains; on dry days it does not.
    const site = gaugeSite(canal)
    const residual = (t: number) => {
      const tt = t - site.lagMs
      return at(canal, t) - (meanSeaLevelCm(tt) + (riverLevelCm(tt, 1) - meanSeaLevelCm(tt)) * site.damping)
    }
    const wet: number[] = []
    const dry: number[] = []
    for (let t = localTime(2025, 7, 1); t < localTime(2025, 10, 1); t += 30 * 60_000) {
      const recent = recentRainMm(1, canal.ward, t, 6)
      if (recent > 15) wet.push(residual(t))
      if (recent < 0.1) dry.push(residual(t))
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    expect(wet.length).toBeGreaterThan(5)
    expect(mean(wet)).toBeGreaterThan(mean(dry) + 6)
    // Dry: only the gauge's fixed offset (±3 cm) and sensor noise remain.
    expect(Math.max(...dry.map(Math.abs))).toBeLessThan(8)
  })
})
