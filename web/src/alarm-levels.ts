import { DEFAULT_ALARMS, PM25_24H_LIMIT_UG_M3 } from '@mytho/schema/alarm-levels'
import type uPlot from 'uplot'
import type { AlarmLine, DeviceKind } from './schema.ts'

/** The metric a popup charts for each kind, and that the live feed shows. */
export const primaryMetric: Record<DeviceKind, string> = {
  traffic: 'avgSpeedKmh',
  water_level: 'waterLevelCm',
  rain: 'rainMm',
  salinity: 'salinityGL',
  air_quality: 'pm25UgM3',
}

export interface ChartLevel {
  value: number
  labelVi: string
  labelEn: string
  color: string
}

const ladderColors = ['#e6b800', '#f07f00', '#d7191c']
const ladder = (steps: readonly { min: number; labelVi: string; labelEn: string }[]): ChartLevel[] =>
  steps.map((s, i) => ({
    value: s.min,
    labelVi: s.labelVi,
    labelEn: s.labelEn,
    color: ladderColors[Math.min(i, 2) + 3 - Math.min(steps.length, 3)] ?? '#d7191c',
  }))

/**
 * Alarm levels drawn as lines on the 24 h charts, from the shared ladders (packages/schema/src/alarm-levels.ts,
 * sourced in ../shared/data/mytho-facts.md §2 and §4). Rain classes are 24 h accumulations, not per-reading
 * amounts, so the rain chart has no lines.
 */
export const chartLevels: Partial<Record<string, ChartLevel[]>> = {
  waterLevelCm: ladder(DEFAULT_ALARMS.water_level.steps),
  salinityGL: ladder(DEFAULT_ALARMS.salinity.steps),
  pm25UgM3: [
    {
      value: PM25_24H_LIMIT_UG_M3,
      labelVi: DEFAULT_ALARMS.air_quality.steps[0].labelVi,
      labelEn: DEFAULT_ALARMS.air_quality.steps[0].labelEn,
      color: '#d7191c',
    },
  ],
}

/**
 * The lines of the rules the platform runs (GET /api/v1/devices/{id}/alarm-lines, ALERT_RULES_FILE or built-in) for one
 * metric, coloured by their place in their rule's ladder as the built-in ones are (BĐ I yellow, II orange, III red).
 */
export function levelsFromLines(lines: readonly AlarmLine[], metric: string): ChartLevel[] {
  const out: ChartLevel[] = []
  const byRule = new Map<string, AlarmLine[]>()
  for (const l of lines) if (l.metric === metric) byRule.set(l.ruleId, [...(byRule.get(l.ruleId) ?? []), l])
  for (const rungs of byRule.values())
    for (const level of ladder(rungs.map((l) => ({ min: l.value, labelVi: l.name.vi, labelEn: l.name.en }))))
      if (!out.some((o) => o.value === level.value)) out.push(level)
  return out
}

/** Draws the levels as dashed horizontal lines across a uPlot chart (its draw hook; the popup and the history page). */
export function drawLevelLines(u: uPlot, levels: readonly ChartLevel[], dash: number[]): void {
  const c = u.ctx
  c.save()
  c.setLineDash(dash)
  c.lineWidth = 1.2 * devicePixelRatio
  for (const l of levels) {
    const y = Math.round(u.valToPos(l.value, 'y', true))
    c.strokeStyle = l.color
    c.beginPath()
    c.moveTo(u.bbox.left, y)
    c.lineTo(u.bbox.left + u.bbox.width, y)
    c.stroke()
  }
  c.restore()
}
