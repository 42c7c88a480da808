import { formatLocalTime, formatValue } from '../format.ts'
import { getLang, tx } from '../i18n/index.ts'
import { fill, lt, type LogKey } from '../i18n/incident-log.ts'
import { acknowledgerText } from '../incidents-actor.ts'
import { wardNames, type Incident, type IncidentEvent, type Ward } from '../schema.ts'

/** What the page knows beside the incidents: device names and wards from the registry (GET /devices). */
export interface LogContext {
  deviceName(id: string): string
  /** The incident's ward, or for one stored before wards were kept, its first device's. */
  wardOf(i: Incident): string | null
}

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] => {
  const e = document.createElement(tag)
  if (className) e.className = className
  // server and registry text goes in as text, never as markup
  if (text !== undefined) e.textContent = text
  return e
}

export const wardLabel = (w: string | null): string => (w !== null ? (wardNames[w as Ward]?.[getLang()] ?? w) : '—')

function value(i: Incident, v: number | null): string {
  if (v === null) return '—'
  return i.metric !== null ? formatValue(i.metric, v) : String(v)
}

/** One step of the timeline: "14:05:10 Xác nhận · mức 3 · operator1: đã báo phường". */
function eventText(i: Incident, e: IncidentEvent): string {
  const parts = [lt(`ev_${e.type}` as LogKey)]
  if (e.level > 0) parts.push(`${lt('level')} ${e.level}`)
  if (e.value !== null && e.type !== 'acknowledged') parts.push(value(i, e.value))
  let who = ''
  if (e.by !== undefined) who = e.type === 'acknowledged' && e.by === i.acknowledgedBy && e.at === i.acknowledgedAt ? (acknowledgerText(i) ?? e.by) : e.by
  return `${parts.join(' · ')}${who ? ` · ${who}` : ''}`
}

/** The log: newest first, each incident with its whole timeline, local times. */
export function renderList(host: HTMLElement, list: readonly Incident[], ctx: LogContext): void {
  const items = [...list]
    .sort((a, b) => b.raisedAt - a.raisedAt)
    .map((i) => {
      const li = el('li', `log-item sev-${i.severity} state-${i.state}`)
      li.dataset['incidentId'] = i.id
      li.dataset['state'] = i.state
      const head = el('div', 'log-head')
      head.append(
        el('span', 'sev-badge', tx(`sev_${i.severity}`)),
        el('span', 'log-title', i.title[getLang()]),
        el('span', 'log-state', tx(`state_${i.state}`)),
      )
      const facts = el('div', 'log-facts')
      const when = `${lt('raised')} ${formatLocalTime(i.raisedAt)} → ${i.clearedAt !== null ? formatLocalTime(i.clearedAt) : lt('ongoing')}`
      facts.append(
        el('span', 'log-when', when),
        el('span', 'log-ward', `${lt('ward')}: ${wardLabel(ctx.wardOf(i))}`),
        el('span', 'log-devices', `${lt('devices')}: ${i.deviceIds.map((d) => ctx.deviceName(d)).join(', ')}`),
        el('span', 'log-values', `${lt('value')}: ${value(i, i.lastValue)} · ${lt('peak')}: ${value(i, i.peakValue)}`),
      )
      const ol = el('ol', 'log-timeline')
      for (const e of i.events) {
        const step = el('li', `ev ev-${e.type}`)
        step.dataset['type'] = e.type
        step.append(el('time', 'ev-at', formatLocalTime(e.at)), el('span', 'ev-what', eventText(i, e)))
        if (e.note !== undefined) step.append(el('q', 'ev-note', e.note))
        ol.append(step)
      }
      li.append(head, facts, ol)
      return li
    })
  host.replaceChildren(...items)
}

/** A table of the report; each row carries its incident's id (data-incident-id). */
function table(headers: LogKey[], rows: { id: string; cells: string[] }[], className: string): HTMLElement {
  if (rows.length === 0) return el('p', `report-none ${className}`, lt('reportNone'))
  const t = el('table', `report-table ${className}`)
  const tr = el('tr')
  for (const h of headers) tr.append(el('th', undefined, lt(h)))
  t.append(el('thead'), el('tbody'))
  t.tHead!.append(tr)
  for (const r of rows) {
    const row = el('tr')
    row.dataset['incidentId'] = r.id
    for (const c of r.cells) {
      const td = el('td')
      td.append(c)
      row.append(td)
    }
    t.tBodies[0]!.append(row)
  }
  return t
}

/**
 * The shift report: the incidents alive in [from, to), the acknowledgements made in it (who, when, note), what is
 * still open at its end and what closed in it. Printed on paper (the print stylesheet shows only this).
 */
export function renderReport(host: HTMLElement, list: readonly Incident[], hours: number, from: number, to: number, ctx: LogContext): void {
  const sorted = [...list].sort((a, b) => a.raisedAt - b.raisedAt)
  const title = (i: Incident) => i.title[getLang()]
  const h2 = el('h2', 'report-title', fill(lt('reportTitle'), { h: hours }))
  const range = el('p', 'report-range', fill(lt('reportRange'), { from: formatLocalTime(from), to: formatLocalTime(to), tz: lt('timeZone') }))
  const made = el('p', 'report-made', fill(lt('reportMade'), { at: formatLocalTime(Date.now()) }))
  const section = (key: LogKey, cls: string, body: HTMLElement) => {
    const s = el('section', `report-section ${cls}`)
    s.dataset['section'] = cls
    s.append(el('h3', undefined, `${lt(key)}`), body)
    return s
  }
  const incidentRows = sorted.map((i) => ({
    id: i.id,
    cells: [formatLocalTime(i.raisedAt), title(i), wardLabel(ctx.wardOf(i)), tx(`sev_${i.severity}`), tx(`state_${i.state}`)],
  }))
  const acks = sorted
    .flatMap((i) => i.events.filter((e) => e.type === 'acknowledged' && e.at >= from && e.at < to).map((e) => ({ i, e })))
    .sort((a, b) => a.e.at - b.e.at)
  const ackRows = acks.map(({ i, e }) => ({
    id: i.id,
    cells: [
      formatLocalTime(e.at),
      title(i),
      e.by === i.acknowledgedBy && e.at === i.acknowledgedAt ? (acknowledgerText(i) ?? e.by ?? '') : (e.by ?? ''),
      e.note ?? '',
    ],
  }))
  const open = sorted.filter((i) => i.state !== 'closed' || (i.closedAt !== null && i.closedAt >= to))
  const closed = sorted.filter((i) => i.closedAt !== null && i.closedAt >= from && i.closedAt < to)
  const openRows = open.map((i) => ({
    id: i.id,
    cells: [formatLocalTime(i.raisedAt), title(i), wardLabel(ctx.wardOf(i)), tx(`sev_${i.severity}`), tx(`state_${i.state}`)],
  }))
  const closedRows = closed.map((i) => ({
    id: i.id,
    cells: [formatLocalTime(i.closedAt!), title(i), wardLabel(ctx.wardOf(i)), tx(`sev_${i.severity}`), i.ackNote ?? ''],
  }))
  host.replaceChildren(
    h2,
    range,
    made,
    section('reportIncidents', 'incidents', table(['colTime', 'colIncident', 'colWard', 'colSeverity', 'colState'], incidentRows, 'report-incidents')),
    section('reportAcks', 'acks', table(['colTime', 'colIncident', 'colWho', 'colNote'], ackRows, 'report-acks')),
    section('reportOpen', 'open', table(['colTime', 'colIncident', 'colWard', 'colSeverity', 'colState'], openRows, 'report-open')),
    section('reportClosed', 'closed', table(['colTime', 'colIncident', 'colWard', 'colSeverity', 'colNote'], closedRows, 'report-closed')),
  )
}
