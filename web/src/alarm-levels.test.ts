import { describe, expect, it } from 'vitest'
import { chartLevels, levelsFromLines } from './alarm-levels.ts'
import type { AlarmLine } from './schema.ts'

const line = (ruleId: string, metric: string, value: number, vi: string, severity: AlarmLine['severity'] = 'warning'): AlarmLine => ({
  ruleId,
  metric,
  value,
  severity,
  name: { vi, en: vi },
})

describe("a chart's level lines come from the rules the platform runs", () => {
  it("draws a city's own flood levels, coloured by their place in the ladder like the built-in ones", () => {
    const levels = levelsFromLines(
      [
        line('flood', 'waterLevelCm', 100, 'Báo động I'),
        line('flood', 'waterLevelCm', 110, 'Báo động II'),
        line('flood', 'waterLevelCm', 120, 'Báo động III', 'critical'),
        line('salinity', 'salinityGL', 0.25, 'Ngưng lấy nước sinh hoạt'),
      ],
      'waterLevelCm',
    )
    expect(levels.map((l) => [l.value, l.labelVi])).toEqual([
      [100, 'Báo động I'],
      [110, 'Báo động II'],
      [120, 'Báo động III'],
    ])
    expect(levels.map((l) => l.color)).toEqual(chartLevels['waterLevelCm']!.map((l) => l.color))
  })

  it('draws the congestion lines on the speed chart once each, and nothing for a metric no rule watches', () => {
    const lines = [
      line('congestion', 'avgSpeedKmh', 15, 'Ùn tắc'),
      line('congestion', 'occupancyPct', 45, 'Ùn tắc'),
      line('congestion', 'avgSpeedKmh', 10, 'Tắc nghẽn nghiêm trọng', 'critical'),
      line('congestion', 'occupancyPct', 60, 'Tắc nghẽn nghiêm trọng', 'critical'),
    ]
    expect(levelsFromLines(lines, 'avgSpeedKmh').map((l) => l.value)).toEqual([15, 10])
    expect(levelsFromLines(lines, 'rainMm')).toEqual([])
  })
})
