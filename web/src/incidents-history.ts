import type { Incident } from './schema.ts'
import type { ChartMark } from './chart.ts'
import { formatLocalTime } from './format.ts'
import { acknowledgerText } from './incidents-actor.ts'
import { getLang, t } from './i18n/index.ts'

/** Past incidents shown per device. */
const HISTORY_LIMIT = 20
const severityColors = { info: '#0b4f6c', warning: '#f07f00', critical: '#d7191c' } as const
const CLEAR_COLOR = '#1a9850'

/** Every incident of a device, active and past (the API lists the worst and oldest first). */
export async function fetchDeviceIncidents(deviceId: string): Promise<Incident[]> {
  const q = new URLSearchParams({ active: 'false', deviceId, limit: String(HISTORY_LIMIT) })
  const res = await fetch(`/api/v1/incidents?${q}`)
  if (!res.ok) throw new Error(`HTTP ${res.status}`)
  // the schema (and zod) load with the first popup, not with the map
  const [{ Incident }, json] = await Promise.all([import('@mytho/schema/incidents'), res.json() as Promise<unknown>])
  const parsed = Incident.array().safeParse(json)
  if (!parsed.success) throw new Error('bad incidents response')
  return parsed.data
}

/** Raise (in the severity's colour) and clear (green) times, for the popup's chart. */
export const incidentMarks = (list: readonly Incident[]): ChartMark[] =>
  list.flatMap((i) => [{ at: i.raisedAt, color: severityColors[i.severity] }, ...(i.clearedAt !== null ? [{ at: i.clearedAt, color: CLEAR_COLOR }] : [])])

/** The list in the popup, newest first, times in Mỹ Tho time (UTC+7); all server text as textContent. */
export function renderIncidentHistory(host: HTMLElement, list: readonly Incident[] | Error): void {
  const title = document.createElement('div')
  title.className = 'popup-incidents-title'
  title.textContent = `${t('incidentHistory')} (${t('timeZone')})`
  if (list instanceof Error) {
    const p = document.createElement('div')
    p.className = 'chart-status'
    p.textContent = t('historyError')
    host.replaceChildren(title, p)
    return
  }
  const ol = document.createElement('ol')
  ol.className = 'popup-incident-list'
  const lang = getLang()
  for (const i of [...list].sort((a, b) => b.raisedAt - a.raisedAt)) {
    const li = document.createElement('li')
    li.className = `sev-${i.severity}`
    li.dataset['incidentId'] = i.id
    li.dataset['state'] = i.state
    const badge = document.createElement('span')
    badge.className = 'sev-badge'
    badge.textContent = t(`sev_${i.severity}`)
    const name = document.createElement('span')
    name.className = 'incident-title'
    name.textContent = i.title[lang]
    const when = document.createElement('div')
    when.className = 'incident-when'
    const end = i.clearedAt !== null ? formatLocalTime(i.clearedAt) : t('ongoing')
    when.textContent = `${t('raisedAt')} ${formatLocalTime(i.raisedAt)} → ${end} · ${t(`state_${i.state}`)}${i.acknowledgedBy !== null ? ` · ${t('ackBy')}: ${acknowledgerText(i)}` : ''}`
    li.append(badge, name, when)
    ol.append(li)
  }
  if (!list.length) {
    const li = document.createElement('li')
    li.className = 'incident-empty'
    li.textContent = t('historyEmpty')
    ol.append(li)
  }
  host.replaceChildren(title, ol)
}
