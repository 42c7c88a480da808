import { windowForRange, windows, type AggregationWindow } from '@mytho/schema/stored-reading'

/*
 * What the history explorer shows, and its deep link: `#metric=waterLevelCm&devices=a,b&range=24h&window=1m`, or
 * with `range=custom&from=2026-12-01T06:00&to=2026-12-03T18:00` (Mỹ Tho local time, as the inputs show it). The
 * window is written out even when chosen from the range, so a link reopens the same chart.
 */

/** Mỹ Tho keeps UTC+7 all year (no daylight saving), so local time is a fixed offset. */
const LOCAL_OFFSET_MS = 7 * 3600_000
const H = 3600_000

export const presets = ['6h', '24h', '7d', '30d'] as const
export type Preset = (typeof presets)[number]
const presetMs: Record<Preset, number> = { '6h': 6 * H, '24h': 24 * H, '7d': 7 * 24 * H, '30d': 30 * 24 * H }

export interface HistoryView {
  metric: string
  devices: string[]
  range: Preset | 'custom'
  /** Local `YYYY-MM-DDTHH:MM` (datetime-local inputs), for a custom range. */
  from: string
  to: string
  /** undefined: chosen from the range. */
  window: AggregationWindow | undefined
}

/** `2026-12-04T15:30` in Mỹ Tho time, as a datetime-local input holds it. */
export const localInput = (ms: number): string => new Date(ms + LOCAL_OFFSET_MS).toISOString().slice(0, 16)

/** A datetime-local value read as Mỹ Tho time, whatever the browser's zone; undefined when malformed. */
export function parseLocalInput(s: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(s)
  if (!m) return undefined
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5])) - LOCAL_OFFSET_MS
  // Date.UTC rolls a 13th month or a 31 November over into the next; such a date is malformed, not another one
  return Number.isNaN(ms) || localInput(ms) !== s ? undefined : ms
}

/** The range in UTC ms at `now`; undefined for a custom range that is incomplete or backwards. */
export function bounds(v: HistoryView, now: number): { from: number; to: number } | undefined {
  if (v.range !== 'custom') return { from: now - presetMs[v.range], to: now }
  const from = parseLocalInput(v.from)
  const to = parseLocalInput(v.to)
  return from !== undefined && to !== undefined && from < to ? { from, to } : undefined
}

export const windowOf = (v: HistoryView, b: { from: number; to: number }): AggregationWindow => v.window ?? windowForRange(b.to - b.from)

export function toHash(v: HistoryView, b: { from: number; to: number } | undefined): string {
  const q = new URLSearchParams({ metric: v.metric, devices: v.devices.join(','), range: v.range })
  if (v.range === 'custom') {
    q.set('from', v.from)
    q.set('to', v.to)
  }
  if (b) q.set('window', windowOf(v, b))
  // commas and colons read better unescaped, and a hash takes them as they are
  return `#${q.toString().replace(/%2C/g, ',').replace(/%3A/g, ':')}`
}

/** A deep link's view; what it lacks or gets wrong is left to the page's defaults. */
export function fromHash(hash: string, now: number): Partial<HistoryView> {
  const q = new URLSearchParams(hash.replace(/^#/, ''))
  const out: Partial<HistoryView> = {}
  const metric = q.get('metric')
  if (metric && /^[A-Za-z][A-Za-z0-9]{0,63}$/.test(metric)) out.metric = metric
  const devices = q.get('devices')
  if (devices) out.devices = [...new Set(devices.split(',').filter((d) => d !== ''))]
  const range = q.get('range')
  if (range && (presets as readonly string[]).includes(range)) out.range = range as Preset
  if (range === 'custom' && parseLocalInput(q.get('from') ?? '') !== undefined && parseLocalInput(q.get('to') ?? '') !== undefined) {
    out.range = 'custom'
    out.from = q.get('from')!
    out.to = q.get('to')!
  }
  const w = q.get('window')
  if (w && (windows as readonly string[]).includes(w)) {
    // the window the range would choose anyway stays automatic
    const b = bounds({ metric: '', devices: [], range: out.range ?? '24h', from: out.from ?? '', to: out.to ?? '', window: undefined }, now)
    out.window = b && windowForRange(b.to - b.from) === w ? undefined : (w as AggregationWindow)
  }
  return out
}
