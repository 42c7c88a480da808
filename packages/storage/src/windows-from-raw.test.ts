import { describe, expect, it } from 'vitest'
import { RAW_MAX_POINTS, readRawToWindow, windowCount, windowsOfRows } from './windows-from-raw.ts'

const MIN = 60_000
const DAY = 86_400_000
const SEVEN_H = 7 * 3_600_000

describe('windows from raw points', () => {
  it('counts the windows a range overlaps, partial ones included, local days shifted by 7 h', () => {
    expect(windowCount(0, DAY, MIN, 0)).toBe(1440)
    expect(windowCount(31_000, DAY - 9_000, MIN, 0)).toBe(1440)
    expect(windowCount(31_000, DAY + 1, MIN, 0)).toBe(1441)
    expect(windowCount(5, 5, MIN, 0)).toBe(0)
    // 00:00 local = 17:00 UTC: 16:59 and 17:00 UTC fall in two local days.
    expect(windowCount(17 * 3_600_000 - MIN, 17 * 3_600_000 + MIN, DAY, SEVEN_H)).toBe(2)
  })

  it('reads raw while a window holds at most 12 points on average and the range at most RAW_MAX_POINTS', () => {
    expect(readRawToWindow(8_640, 1_440)).toBe(true)
    expect(readRawToWindow(86_400, 1_440)).toBe(false)
    expect(readRawToWindow(5, 0)).toBe(true)
    expect(readRawToWindow(RAW_MAX_POINTS + 1, 10_000)).toBe(false)
  })

  it('windows [ts, value] rows at their start, ascending, skipping rows without a number', () => {
    const rows = [
      [17 * 3_600_000 + 5, 4],
      [17 * 3_600_000 - 5, 10],
      [17 * 3_600_000 + 9, 2],
      [17 * 3_600_000 + 10, null],
    ]
    expect(windowsOfRows(rows, DAY, SEVEN_H)).toEqual([
      { ts: 17 * 3_600_000 - DAY, mean: 10, min: 10, max: 10, count: 1 },
      { ts: 17 * 3_600_000, mean: 3, min: 2, max: 4, count: 2 },
    ])
  })
})
