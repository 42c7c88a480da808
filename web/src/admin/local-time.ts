/** Mỹ Tho keeps UTC+7 all year: the page's times are that, whatever zone the browser is set to. */
export const LOCAL_OFFSET_MS = 7 * 3600_000

/** An <input type=datetime-local> value (`2026-12-05T14:30`) read as Mỹ Tho time, in ms UTC; undefined when empty or malformed. */
export function localInputToMs(value: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value)
  if (!m) return undefined
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)) - LOCAL_OFFSET_MS
}

/** The datetime-local value showing `ms` in Mỹ Tho time (to the minute). */
export const msToLocalInput = (ms: number): string => new Date(ms + LOCAL_OFFSET_MS).toISOString().slice(0, 16)

/**
 * The end of a Mỹ Tho day given as an <input type=date> value (`2026-12-31`), in ms UTC: midnight starting the next
 * day there, so a key "valid through the 31st" still works all that evening. Undefined when empty or malformed.
 */
export function localDayEndMs(value: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value)
  if (!m) return undefined
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + 1) - LOCAL_OFFSET_MS
}
