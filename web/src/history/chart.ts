import uPlot from 'uplot'
import type { HistoryPoint } from '@mytho/schema/stored-reading'
import { type ChartLevel, drawLevelLines } from '../alarm-levels.ts'
import { formatLocalTime, formatValue } from '../format.ts'
import { getLang } from '../i18n/index.ts'

/** Eight colours told apart on a white chart (and by most colour-blind eyes: Okabe–Ito, then two greys/browns). */
export const seriesColors = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#7f5a3a', '#444444']

export interface ChartSeries {
  deviceId: string
  label: string
  points: readonly HistoryPoint[]
}

export interface ChartInput {
  metric: string
  /** The range asked for (UTC ms): the x axis spans it even where a device has no readings. */
  from: number
  to: number
  series: readonly ChartSeries[]
  levels: readonly ChartLevel[]
  timeLabel: string
}

/**
 * One chart, one line per device: means of the window (or every reading), the alarm levels dashed across it. The
 * legend shows, under the cursor, the local time and each device's value with its unit. Dragging across zooms;
 * Shift + drag pans, as do the page's buttons (pan()), within the range loaded.
 */
export function drawChart(host: HTMLElement, input: ChartInput): uPlot {
  const { metric, levels } = input
  const from = input.from / 1000
  const to = input.to / 1000
  // one x column for every device's times; a device without a reading at a time has undefined there, which uPlot
  // joins over, so each device still draws one line
  const data = uPlot.join(input.series.map((s) => [s.points.map((p) => p.ts / 1000), s.points.map((p) => p.mean)] as uPlot.AlignedData))
  let panFrom: { x: number; min: number; max: number } | undefined
  const opts: uPlot.Options = {
    width: Math.max(260, host.clientWidth),
    height: host.clientWidth < 500 ? 260 : 380,
    legend: { show: true, live: true },
    cursor: {
      drag: { x: true, y: false, setScale: true },
      bind: {
        // Shift + drag moves the view instead of zooming it
        mousedown: (u, _t, handler) => (e: MouseEvent) => {
          if (!e.shiftKey) return handler(e)
          panFrom = { x: e.clientX, min: u.scales['x']?.min ?? from, max: u.scales['x']?.max ?? to }
          return null
        },
        // back to the whole range asked for, not just the span the readings cover
        dblclick: (u) => () => {
          u.setScale('x', { min: from, max: to })
          return null
        },
      },
    },
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Asia/Ho_Chi_Minh'),
    scales: {
      x: { time: true, range: (_u, min, max) => (min === max ? [from, to] : [min, max]) },
      // the alarm levels stay in view even when the values are far below them
      y: {
        range: (_u, min, max) => {
          const lo = Math.min(min, ...levels.map((l) => l.value))
          const hi = Math.max(max, ...levels.map((l) => l.value))
          const pad = (hi - lo || Math.abs(hi) || 1) * 0.08
          return [lo - pad, hi + pad]
        },
      },
    },
    axes: [
      { size: 44, values: (_u, splits, _i, _space, incr) => timeTicks(splits, incr) },
      { size: 60, values: (_u, splits) => splits.map((v) => formatValue(metric, v)) },
    ],
    series: [
      { label: input.timeLabel, value: (_u, v) => (v == null ? '—' : formatLocalTime(v * 1000)) },
      ...input.series.map((s, i) => ({
        label: s.label,
        stroke: seriesColors[i % seriesColors.length]!,
        width: 1.5,
        spanGaps: true,
        points: { show: s.points.length < 3, size: 5 },
        value: (_u: uPlot, v: number | null) => (v == null ? '—' : formatValue(metric, v)),
      })),
    ],
    hooks: {
      // the view shown, in UTC ms, for the page's tests and anyone reading the DOM
      setScale: [
        (u, key) => {
          if (key !== 'x') return
          host.dataset['viewFrom'] = String(Math.round((u.scales['x']?.min ?? from) * 1000))
          host.dataset['viewTo'] = String(Math.round((u.scales['x']?.max ?? to) * 1000))
        },
      ],
      draw: [(u) => drawLevelLines(u, levels, [6, 4])],
    },
  }
  host.replaceChildren()
  const u = new uPlot(opts, data, host)
  u.setScale('x', { min: from, max: to })
  const move = (e: MouseEvent) => {
    if (!panFrom) return
    const perPx = (panFrom.max - panFrom.min) / u.bbox.width
    shift(u, -(e.clientX - panFrom.x) * perPx * uPlot.pxRatio, panFrom, from, to)
  }
  const up = () => (panFrom = undefined)
  u.over.addEventListener('mousemove', move)
  window.addEventListener('mouseup', up)
  u.hooks.destroy = [() => window.removeEventListener('mouseup', up)]
  return u
}

const tickFormats = new Map<string, Intl.DateTimeFormat>()
const tickFormat = (part: 'time' | 'day'): Intl.DateTimeFormat => {
  const key = `${getLang()}:${part}`
  let f = tickFormats.get(key)
  if (!f) {
    const fields: Intl.DateTimeFormatOptions = part === 'time' ? { hour: '2-digit', minute: '2-digit', hour12: false } : { day: '2-digit', month: '2-digit' }
    f = new Intl.DateTimeFormat(getLang() === 'vi' ? 'vi-VN' : 'en-GB', { timeZone: 'Asia/Ho_Chi_Minh', ...fields })
    tickFormats.set(key, f)
  }
  return f
}

/** Mỹ Tho time on the x axis, 24-hour: `14:30`, the date under the first tick of each day; dates alone for ticks a day or more apart. */
function timeTicks(splits: number[], incrS: number): string[] {
  let day = ''
  return splits.map((v) => {
    // dd/MM in both languages (vi-VN alone would write 28-11)
    const parts = tickFormat('day').formatToParts(v * 1000)
    const d = `${parts.find((p) => p.type === 'day')?.value}/${parts.find((p) => p.type === 'month')?.value}`
    if (incrS >= 86_400) return d
    const time = tickFormat('time').format(v * 1000)
    const first = d !== day
    day = d
    return first ? `${time}\n${d}` : time
  })
}

/** Moves the view by `by` seconds from `base`, kept inside [from, to]. */
function shift(u: uPlot, by: number, base: { min: number; max: number }, from: number, to: number): void {
  const span = base.max - base.min
  const min = Math.min(Math.max(base.min + by, from), to - span)
  u.setScale('x', { min, max: min + span })
}

/** Half a view earlier (-1) or later (1), within the range loaded. */
export function pan(u: uPlot, dir: -1 | 1, range: { from: number; to: number }): void {
  const min = u.scales['x']?.min ?? range.from / 1000
  const max = u.scales['x']?.max ?? range.to / 1000
  shift(u, (dir * (max - min)) / 2, { min, max }, range.from / 1000, range.to / 1000)
}
