import { waterAlarmLevels } from '@mytho/schema/alarm-levels'
import { wardNames, wards, type Incident, type Ward } from './schema.ts'
import type { DeviceStore } from './store.ts'
import { formatLocalTime, formatValue } from './format.ts'
import { getLang, t } from './i18n/index.ts'
import { deviceOf } from './incidents-store.ts'

/** Event types that moved an incident to a level (the steps an operator reads as "BĐ I 14:05 → BĐ II 14:12"). */
const STEP_TYPES = new Set(['raised', 'escalated', 'deescalated', 'reopened'])

const isWard = (w: string): w is Ward => (wards as readonly string[]).includes(w)

/** A level as the room says it: BĐ I–III on a water-level rule (Vietnamese bulletins use those names in English too), "Mức 2" elsewhere. */
export function levelLabel(i: Incident, level: number): string {
  if (i.metric === 'waterLevelCm') return waterAlarmLevels[level - 1] ?? `${t('levelShort')} ${level}`
  return `${t('levelShort')} ${level}`
}

/** Hours and minutes, local time (the date is in the "since" line). */
const hhmm = (ms: number): string => formatLocalTime(ms, false).slice(0, 5)

/** "1 giờ 5 phút" / "1 h 5 min"; whole minutes. */
export function formatDuration(ms: number): string {
  const min = Math.max(0, Math.floor(ms / 60_000))
  if (min < 60) return t('durMin').replace('{m}', String(min))
  return t('durHour')
    .replace('{h}', String(Math.floor(min / 60)))
    .replace('{m}', String(min % 60))
}

export interface IncidentFacts {
  device: string
  ward: string | undefined
  value: string | undefined
  since: string
  steps: string | undefined
  action: string | undefined
}

/**
 * What an operator needs to judge an incident, as text: where (device, ward), how bad (current and peak value with
 * its unit, the levels passed with their times), since when and for how long, and what to do. Any part the
 * incident does not carry (an incident stored before wards and actions were kept) is left out.
 */
export function incidentFacts(i: Incident, devices: DeviceStore, now = Date.now()): IncidentFacts {
  const lang = getLang()
  const dev = deviceOf(i)
  const wardId = i.ward ?? (dev !== undefined ? devices.meta.get(dev)?.ward : undefined) ?? null
  const ward = wardId !== null && isWard(wardId) ? wardNames[wardId][lang] : (wardId ?? undefined)
  let value: string | undefined
  if (i.metric !== null && i.lastValue !== null) {
    value = `${t('valueNow')} ${formatValue(i.metric, i.lastValue)}`
    if (i.peakValue !== null && i.peakValue !== i.lastValue) value += ` · ${t('valuePeak')} ${formatValue(i.metric, i.peakValue)}`
  }
  const end = i.clearedAt ?? i.closedAt ?? now
  const since = `${t('since')} ${formatLocalTime(i.raisedAt)} (${formatDuration(end - i.raisedAt)})`
  const steps = i.events.filter((e) => STEP_TYPES.has(e.type) && e.level > 0).map((e) => `${levelLabel(i, e.level)} ${hhmm(e.at)}`)
  return {
    device: dev !== undefined ? devices.name(dev, lang) : i.subject,
    ward,
    value,
    since,
    steps: steps.length > 0 ? steps.join(' → ') : undefined,
    action: i.action?.[lang] ?? undefined,
  }
}

const span = (cls: string, text: string): HTMLElement => {
  const e = document.createElement('div')
  e.className = cls
  e.textContent = text
  return e
}

/** The facts as lines (textContent only: device names and actions come from the registry and the rules file). */
export function incidentFactLines(f: IncidentFacts, o: { device?: boolean; action?: boolean } = {}): HTMLElement[] {
  const out: HTMLElement[] = []
  if (o.device !== false) out.push(span('inc-where', f.ward !== undefined ? `${f.device} — ${f.ward}` : f.device))
  else if (f.ward !== undefined) out.push(span('inc-where', f.ward))
  if (f.value !== undefined) out.push(span('inc-value', f.value))
  out.push(span('inc-since', f.since))
  if (f.steps !== undefined) out.push(span('inc-steps', `${t('steps')}: ${f.steps}`))
  if (o.action !== false && f.action !== undefined) out.push(span('inc-action', `${t('whatToDo')}: ${f.action}`))
  return out
}
