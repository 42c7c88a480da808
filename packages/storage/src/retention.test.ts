import { describe, expect, it } from 'vitest'
import { DAY_MS, HOUR_MS, planHistory } from './retention.ts'

describe('planHistory', () => {
  const now = Date.UTC(2026, 10, 25, 12, 30)
  const cutoff = now - 90 * DAY_MS

  it('raw and 1m windows, and raw kept forever, always read raw', () => {
    expect(planHistory('raw', 0, now, now, 90)).toEqual([{ source: 'raw', from: 0, to: now }])
    expect(planHistory('1m', 0, now, now, 90)).toEqual([{ source: 'raw', from: 0, to: now }])
    expect(planHistory('1h', 0, now, now, 0)).toEqual([{ source: 'raw', from: 0, to: now }])
  })

  it('a range still within raw retention reads raw; one wholly past it reads the roll-up', () => {
    expect(planHistory('1h', cutoff + HOUR_MS, now, now, 90)).toEqual([{ source: 'raw', from: cutoff + HOUR_MS, to: now }])
    expect(planHistory('5m', 0, cutoff - HOUR_MS, now, 90)).toEqual([{ source: '5m', from: 0, to: cutoff - HOUR_MS }])
    expect(planHistory('1d', 0, cutoff - DAY_MS, now, 90)).toEqual([{ source: '1h', from: 0, to: cutoff - DAY_MS }])
  })

  it('a range across the cutoff splits on the first window boundary after it (1d: local midnight, 17:00Z)', () => {
    // cutoff is 12:30Z: the next hour starts 13:00Z, the next local day 17:00Z.
    expect(planHistory('1h', 0, now, now, 90)).toEqual([
      { source: '1h', from: 0, to: cutoff + 30 * 60_000 },
      { source: 'raw', from: cutoff + 30 * 60_000, to: now },
    ])
    expect(planHistory('1d', 0, now, now, 90)).toEqual([
      { source: '1h', from: 0, to: cutoff + 4.5 * HOUR_MS },
      { source: 'raw', from: cutoff + 4.5 * HOUR_MS, to: now },
    ])
  })
})
