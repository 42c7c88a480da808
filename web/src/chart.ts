import uPlot from 'uplot'
import { AlarmLinesResponse } from '@mytho/schema/incidents'
import { HistorySeries } from '@mytho/schema/stored-reading'
import { type ChartLevel, chartLevels, drawLevelLines, levelsFromLines } from './alarm-levels.ts'
import { formatLocalTime, formatValue } from './format.ts'
import { getLang, t } from './i18n/index.ts'

const DAY_MS = 24 * 3_600_000

/** A moment drawn as a vertical line across the chart (an incident raised or cleared). */
export interface ChartMark {
  at: number
  color: string
}
/** Below this many 5-minute means the chart shows the raw readings instead. */
const MIN_WINDOWED_POINTS = 10

async function fetchSeries(deviceId: string, metric: string, from: number, to: number, window: '5m' | 'raw'): Promise<HistorySeries> {
  const q = new URLSearchParams({ metric, from: String(from), to: String(to), window })
  const res = await fetch(`/api/v1/devices/${encodeURIComponent(deviceId)}/history?${q}`)
  if (!res.ok) throw new Error(`HTTP ${res.status}`)
  const parsed = HistorySeries.safeParse(await res.json())
  if (!parsed.success) throw new Error('bad history response')
  return parsed.data
}

/** The device's level lines from the rules the platform runs; the built-in ladders when the API cannot say. */
async function levelsFor(deviceId: string, metric: string): Promise<ChartLevel[]> {
  try {
    const res = await fetch(`/api/v1/devices/${encodeURIComponent(deviceId)}/alarm-lines`)
    const parsed = res.ok ? AlarmLinesResponse.safeParse(await res.json()) : undefined
    if (parsed?.success) return levelsFromLines(parsed.data.lines, metric)
  } catch {
    /* an older API: the built-in lines */
  }
  return chartLevels[metric] ?? []
}

/**
 * The last 24 h of one metric (5-minute means from the history endpoint) with the metric's alarm levels as
 * horizontal lines. uPlot: ~50 kB, draws 300 points in well under a millisecond.
 */
export async function renderChart(
  el: HTMLElement,
  deviceId: string,
  metric: string,
  marks: readonly ChartMark[] = [],
  now = Date.now(),
): Promise<uPlot | undefined> {
  const status = document.createElement('div')
  status.className = 'chart-status'
  status.textContent = t('chartLoading')
  el.replaceChildren(status)
  let series: HistorySeries
  let short = false
  const lines = levelsFor(deviceId, metric)
  try {
    series = await fetchSeries(deviceId, metric, now - DAY_MS, now, '5m')
    // a device heard for only a few minutes (or a fast simulation) has too few 5-minute means to draw a line
    if (series.points.length < MIN_WINDOWED_POINTS) {
      series = await fetchSeries(deviceId, metric, now - DAY_MS, now, 'raw')
      short = true
    }
  } catch {
    status.textContent = t('chartError')
    el.style.minHeight = '0'
    return undefined
  }
  if (series.points.length === 0) {
    status.textContent = t('chartEmpty')
    el.style.minHeight = '0'
    return undefined
  }
  const xs = series.points.map((p) => p.ts / 1000)
  const ys = series.points.map((p) => p.mean)
  const levels = await lines
  const label = (l: { labelVi: string; labelEn: string }) => (getLang() === 'vi' ? l.labelVi : l.labelEn)
  const to = now / 1000
  // raw readings of a short history: the axis spans them (at least 15 minutes), not an almost empty day
  const from = short ? Math.min(xs[0] ?? to, to - 900) : (now - DAY_MS) / 1000
  const shownMarks = marks.filter((m) => m.at / 1000 >= from && m.at / 1000 <= to)
  el.dataset['marks'] = String(shownMarks.length)
  const opts: uPlot.Options = {
    width: Math.max(220, el.clientWidth || 276),
    height: 130,
    legend: { show: false },
    cursor: { points: { show: false } },
    // uPlot formats ticks in the browser's zone; Mỹ Tho time is UTC+7 all year
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Asia/Ho_Chi_Minh'),
    scales: {
      x: { time: true, range: [from, to] },
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
      { size: 28, font: '10px system-ui', ticks: { size: 3 }, values: (_u, splits) => splits.map((v) => formatLocalTime(v * 1000, false).slice(0, 5)) },
      { size: 42, font: '10px system-ui', ticks: { size: 3 } },
    ],
    series: [{}, { stroke: '#0b4f6c', width: 1.5, points: { show: ys.length < 3, size: 5 } }],
    hooks: {
      draw: [
        (u) => {
          drawLevelLines(u, levels, [5, 4])
          // incident raise/clear times: the readings around an incident are the ones next to its lines
          const c = u.ctx
          c.save()
          c.lineWidth = 1.5 * uPlot.pxRatio
          for (const m of shownMarks) {
            const x = Math.round(u.valToPos(m.at / 1000, 'x', true))
            c.strokeStyle = m.color
            c.beginPath()
            c.moveTo(x, u.bbox.top)
            c.lineTo(x, u.bbox.top + u.bbox.height)
            c.stroke()
          }
          c.restore()
        },
      ],
    },
  }
  const data: uPlot.AlignedData = [xs, ys]
  status.remove()
  const plot = new uPlot(opts, data, el)
  if (levels.length) {
    const legend = document.createElement('div')
    legend.className = 'chart-levels'
    for (const l of levels) {
      const item = document.createElement('span')
      item.style.setProperty('--c', l.color)
      item.textContent = `${label(l)} ${formatValue(metric, l.value)}`
      legend.append(item)
    }
    el.append(legend)
  }
  return plot
}
