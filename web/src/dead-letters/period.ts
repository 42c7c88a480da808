/** Mỹ Tho keeps UTC+7 all year (no daylight saving). */
const LOCAL_OFFSET_MS = 7 * 3600_000
const H = 3600_000

export const presets = ['1h', '24h', '7d', '30d', 'range'] as const
export type Preset = (typeof presets)[number]
const hoursOf: Record<Exclude<Preset, 'range'>, number> = { '1h': 1, '24h': 24, '7d': 7 * 24, '30d': 30 * 24 }

/**
 * A <input type=datetime-local> value (`2026-12-05T08:30`) read as Mỹ Tho time, whatever the browser's own zone:
 * ms UTC, or undefined when empty or malformed.
 */
export function localInputToMs(value: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value)
  if (!m) return undefined
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)) - LOCAL_OFFSET_MS
}

/** The datetime-local value of an instant in Mỹ Tho time (minutes). */
export const msToLocalInput = (ms: number): string => new Date(ms + LOCAL_OFFSET_MS).toISOString().slice(0, 16)

/** The range a preset means at `now`, or the local from/to; undefined when incomplete or backwards. */
export function rangeOf(preset: Preset, now: number, from = '', to = ''): { from: number; to: number } | undefined {
  if (preset !== 'range') return { from: now - hoursOf[preset] * H, to: now }
  const f = localInputToMs(from)
  const t = localInputToMs(to)
  return f === undefined || t === undefined || t <= f ? undefined : { from: f, to: t }
}

/** Hours up to two days, local days beyond (the API counts hourly over at most 31 days). */
export const bucketFor = (range: { from: number; to: number }): 'hour' | 'day' => (range.to - range.from <= 48 * H ? 'hour' : 'day')
