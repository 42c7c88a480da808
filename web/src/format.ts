import { getLang } from './i18n/index.ts'
import { metricUnits } from './schema.ts'

const numberFormats = new Map<string, Intl.NumberFormat>()
export function formatValue(field: string, v: number): string {
  const lang = getLang()
  const key = `${lang}:${field === 'salinityGL' ? 2 : 1}`
  let f = numberFormats.get(key)
  if (!f) {
    f = new Intl.NumberFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', { maximumFractionDigits: field === 'salinityGL' ? 2 : 1 })
    numberFormats.set(key, f)
  }
  // One home for units: beside the metric lists in packages/schema (lists.ts), checked against the reading shapes.
  const unit = (metricUnits as Record<string, string>)[field] ?? ''
  return unit ? `${f.format(v)} ${unit}` : f.format(v)
}

const timeFormats = new Map<string, Intl.DateTimeFormat>()
/** Mỹ Tho local time (Asia/Ho_Chi_Minh, UTC+7 all year), in the chosen language's date order. */
export function formatLocalTime(ms: number, withDate = true): string {
  const key = `${getLang()}:${withDate}`
  let f = timeFormats.get(key)
  if (!f) {
    f = new Intl.DateTimeFormat(getLang() === 'vi' ? 'vi-VN' : 'en-GB', {
      timeZone: 'Asia/Ho_Chi_Minh',
      ...(withDate ? { day: '2-digit', month: '2-digit', year: 'numeric' } : {}),
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hour12: false,
    })
    timeFormats.set(key, f)
  }
  return f.format(ms)
}

/** Folds case and Vietnamese diacritics (đ too, which NFD does not split) for search. */
export const fold = (s: string): string => s.normalize('NFD').replace(/\p{M}/gu, '').replace(/đ/g, 'd').replace(/Đ/g, 'D').toLowerCase()
