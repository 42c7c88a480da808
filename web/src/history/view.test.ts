import { describe, expect, it } from 'vitest'
import { bounds, fromHash, localInput, parseLocalInput, toHash, type HistoryView } from './view.ts'

const NOW = Date.UTC(2026, 11, 5, 1, 0, 0)

describe('the history explorer’s view and deep link', () => {
  it('reads a datetime-local value as Mỹ Tho time (UTC+7), whatever the browser’s zone', () => {
    expect(parseLocalInput('2026-12-04T15:30')).toBe(Date.UTC(2026, 11, 4, 8, 30))
    expect(localInput(Date.UTC(2026, 11, 4, 17, 0))).toBe('2026-12-05T00:00')
    expect(parseLocalInput('2026-12-04')).toBeUndefined()
    expect(parseLocalInput('2026-13-45T99:00')).toBeUndefined()
  })

  it('a link reopens the same view: custom range in local time, a window other than the automatic one', () => {
    const v: HistoryView = {
      metric: 'waterLevelCm',
      devices: ['wl-a', 'wl-b'],
      range: 'custom',
      from: '2026-12-01T06:00',
      to: '2026-12-03T18:00',
      window: '1h',
    }
    const hash = toHash(v, bounds(v, NOW))
    expect(hash).toBe('#metric=waterLevelCm&devices=wl-a,wl-b&range=custom&from=2026-12-01T06:00&to=2026-12-03T18:00&window=1h')
    expect(fromHash(hash, NOW)).toEqual(v)
    expect(bounds(v, NOW)).toEqual({ from: Date.UTC(2026, 10, 30, 23, 0), to: Date.UTC(2026, 11, 3, 11, 0) })
  })

  it('a preset’s automatic window stays automatic; a backwards custom range has no bounds', () => {
    const v: HistoryView = { metric: 'pm25UgM3', devices: ['aq-x'], range: '7d', from: '', to: '', window: undefined }
    const hash = toHash(v, bounds(v, NOW))
    expect(hash).toBe('#metric=pm25UgM3&devices=aq-x&range=7d&window=5m')
    expect(fromHash(hash, NOW)).toEqual({ metric: 'pm25UgM3', devices: ['aq-x'], range: '7d', window: undefined })
    expect(bounds({ ...v, range: 'custom', from: '2026-12-03T00:00', to: '2026-12-01T00:00' }, NOW)).toBeUndefined()
    expect(fromHash('#metric=<script>&range=forever&window=2m', NOW)).toEqual({})
  })
})
