import { Router } from 'express'
import { stringify } from 'csv-stringify/sync'
import { IncidentListParams, wardNames, type DeviceRegistry, type Incident, type IncidentEvent } from '@mytho/schema'
import type { IncidentQuery, OperatorIncidents } from '@mytho/alerts'
import { HttpError, parseInput } from '../http-errors.ts'

/*
 * The incident log (issue #17, finding 7): every incident, closed ones too, by time, ward, rule, severity and state,
 * as JSON and as a CSV file for the shift's paperwork. The ward filter needs the registry: an incident stored before
 * incidents kept their ward is placed by the ward its devices are in now.
 */

/** Mỹ Tho keeps UTC+7 all year (no daylight saving), so local time is a fixed offset. */
const LOCAL_OFFSET_MS = 7 * 3600_000

/** `2026-12-04 15:30:00`, Asia/Ho_Chi_Minh. */
export const localTime = (ms: number): string => new Date(ms + LOCAL_OFFSET_MS).toISOString().replace('T', ' ').slice(0, 19)

/**
 * A spreadsheet runs a cell starting with = + - @ (or a tab / carriage return) as a formula: a note typed by one
 * operator (or a name from an anonymous caller) must not run in the next one's Excel (OWASP "CSV injection").
 * A leading apostrophe makes it text; numbers go out as numbers and are not touched.
 */
export const csvSafe = (v: string): string => (/^[=+\-@\t\r]/.test(v) ? `'${v}` : v)

const eventNames: Record<IncidentEvent['type'], string> = {
  raised: 'phát sinh / raised',
  escalated: 'tăng mức / escalated',
  deescalated: 'giảm mức / de-escalated',
  acknowledged: 'xác nhận / acknowledged',
  cleared: 'hết sự cố / cleared',
  closed: 'đóng / closed',
  reminded: 'nhắc lại / reminded',
  reopened: 'mở lại / reopened',
}

const timeline = (i: Incident): string =>
  i.events
    .map((e) => {
      const who = e.by !== undefined ? ` ${e.by}${e.claimedBy !== undefined ? ` (${e.claimedBy})` : ''}` : ''
      return `${localTime(e.at)} ${eventNames[e.type]} L${e.level}${e.value !== null ? ` = ${e.value}` : ''}${who}${e.note !== undefined ? `: ${e.note}` : ''}`
    })
    .join(' | ')

const iso = (ms: number | null): string => (ms === null ? '' : new Date(ms).toISOString())
const local = (ms: number | null): string => (ms === null ? '' : localTime(ms))

/** Columns: Vietnamese header first, English after the slash; each time twice, UTC ISO and Mỹ Tho local time. */
const columns: [string, (i: Incident, wardOf: (i: Incident) => string | null) => string | number | null][] = [
  ['Mã sự cố / Incident id', (i) => i.id],
  ['Quy tắc / Rule', (i) => i.ruleId],
  ['Sự cố / Incident', (i) => i.title.vi],
  ['Incident (English)', (i) => i.title.en],
  ['Mức độ / Severity', (i) => i.severity],
  ['Trạng thái / State', (i) => i.state],
  ['Phường / Ward', (i, wardOf) => wardOf(i)],
  ['Tên phường / Ward name', (i, wardOf) => nameOfWard(wardOf(i))],
  ['Thiết bị / Devices', (i) => i.deviceIds.join(' ')],
  ['Chỉ số / Metric', (i) => i.metric],
  ['Giá trị gần nhất / Last value', (i) => i.lastValue],
  ['Giá trị cao nhất / Peak value', (i) => i.peakValue],
  ['Mức cao nhất / Peak level', (i) => i.peakLevel],
  ['Phát sinh (UTC) / Raised (UTC)', (i) => iso(i.raisedAt)],
  ['Phát sinh (giờ VN) / Raised (UTC+7)', (i) => local(i.raisedAt)],
  ['Xác nhận (UTC) / Acknowledged (UTC)', (i) => iso(i.acknowledgedAt)],
  ['Xác nhận (giờ VN) / Acknowledged (UTC+7)', (i) => local(i.acknowledgedAt)],
  ['Người xác nhận / Acknowledged by', (i) => i.acknowledgedBy],
  ['Ghi chú / Note', (i) => i.ackNote],
  ['Hết sự cố (UTC) / Cleared (UTC)', (i) => iso(i.clearedAt)],
  ['Hết sự cố (giờ VN) / Cleared (UTC+7)', (i) => local(i.clearedAt)],
  ['Đóng (UTC) / Closed (UTC)', (i) => iso(i.closedAt)],
  ['Đóng (giờ VN) / Closed (UTC+7)', (i) => local(i.closedAt)],
  ['Diễn biến (giờ VN) / Timeline (UTC+7)', timeline],
]

function nameOfWard(w: string | null): string {
  const n = w !== null ? (wardNames as Record<string, { vi: string } | undefined>)[w] : undefined
  return n?.vi ?? ''
}

/**
 * The incident log as CSV. csv-stringify (the node-csv project) does the quoting: a note holds commas, quotes and line
 * breaks, and RFC 4180's rules for them are easy to get subtly wrong by hand. A BOM first, so Excel reads the
 * Vietnamese as UTF-8.
 */
export function incidentsCsv(list: readonly Incident[], wardOf: (i: Incident) => string | null): string {
  const rows = list.map((i) =>
    columns.map(([, cell]) => {
      const v = cell(i, wardOf)
      return typeof v === 'string' ? csvSafe(v) : v
    }),
  )
  return stringify(rows, { header: true, columns: columns.map(([h]) => h), bom: true, record_delimiter: 'windows' })
}

/** GET /incidents (the list, as before, with ward and range) and GET /incidents/export.csv (the same filters). */
export function incidentLogRouter(incidents: () => OperatorIncidents | undefined, registry: DeviceRegistry): Router {
  const r = Router()
  const store = () => {
    const s = incidents()
    if (!s) throw new HttpError(503, 'incident store unavailable (alerts disabled or DATA_DIR not set)')
    return s
  }
  const wardOfDevice = (id: string | undefined) => (id !== undefined ? (registry.get(id)?.ward ?? null) : null)
  const wardOf = (i: Incident): string | null => i.ward ?? wardOfDevice(i.deviceIds[0])
  const query = (raw: unknown): IncidentQuery => {
    const q = parseInput(IncidentListParams, raw, 'query')
    const { active, ward, ...rest } = q
    const filter = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as IncidentQuery
    return {
      ...filter,
      ...(active && q.state === undefined ? { active: true } : {}),
      ...(ward !== undefined ? { ward, wardDeviceIds: registry.devices.filter((d) => d.ward === ward).map((d) => d.id) } : {}),
    }
  }

  r.get('/incidents', async (req, res) => {
    res.json(await store().list(query(req.query)))
  })

  r.get('/incidents/export.csv', async (req, res) => {
    const q = query(req.query)
    const list = await store().list(q)
    // 20261204-1930: the range's ends in local time, as the shift knows them
    const stamp = (ms: number) => localTime(ms).replace(/[-:]/g, '').replace(' ', '-').slice(0, 13)
    const name = `su-co${q.from !== undefined ? `-${stamp(q.from)}` : ''}${q.to !== undefined ? `-${stamp(q.to)}` : ''}.csv`
    res.set('Content-Disposition', `attachment; filename="${name}"`)
    res.type('text/csv; charset=utf-8').send(incidentsCsv(list, wardOf))
  })
  return r
}
