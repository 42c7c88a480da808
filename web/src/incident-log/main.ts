/*
 * The incident log and shift report (incidents.html, issue #17 finding 7): every incident, closed ones too, by time,
 * ward, rule, severity and state, each with its timeline; the CSV of the same filters; a printable shift report.
 * Behind the map's sign-in: the same session cookie, and the same sign-in when there is none.
 */
import './log.css'
import { getLang, onLangChange, toggleLang, tx } from '../i18n/index.ts'
import { lt, fill, type LogKey } from '../i18n/incident-log.ts'
import { severities, wardNames, wards, type Incident } from '../schema.ts'
import { createSession } from '../session.ts'
import { periodBounds, localDate, type Period } from './period.ts'
import { renderList, renderReport, type LogContext } from './render.ts'

/** The most incidents one request lists (the API's limit). */
const LIST_LIMIT = 1000
const states = ['open', 'acknowledged', 'cleared', 'closed'] as const
/**
 * The built-in rules (packages/alerts default-rules.ts, their titles), offered before any incident of them is seen;
 * a city's own rules appear as incidents of them are seen, named by their titles.
 */
const KNOWN_RULES: Record<string, Incident['title']> = {
  flood: { vi: 'Ngập do triều cường / lũ', en: 'Flood (high water)' },
  salinity: { vi: 'Xâm nhập mặn', en: 'Salinity intrusion' },
  pm25: { vi: 'Bụi mịn PM2.5 vượt QCVN 05', en: 'PM2.5 above QCVN 05' },
  congestion: { vi: 'Ùn tắc giao thông', en: 'Traffic congestion' },
  'low-battery': { vi: 'Pin yếu', en: 'Low battery' },
  'device-silent': { vi: 'Thiết bị mất tín hiệu', en: 'Device silent' },
}

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T
const session = createSession()
const devices = new Map<string, { nameVi: string; nameEn: string; ward: string }>()
const ruleLabels = new Map<string, Incident['title']>()
let shown: { list: Incident[]; truncated: boolean } | Error | undefined
let report: { list: Incident[]; hours: number; from: number; to: number } | undefined

const ctx: LogContext = {
  deviceName: (id) => {
    const d = devices.get(id)
    return d ? (getLang() === 'vi' ? d.nameVi : d.nameEn) : id
  },
  wardOf: (i) => i.ward ?? devices.get(i.deviceIds[0] ?? '')?.ward ?? null,
}

function applyTexts(): void {
  document.documentElement.lang = getLang()
  document.title = lt('pageTitle')
  for (const e of document.querySelectorAll<HTMLElement>('[data-lt]')) e.textContent = lt(e.dataset['lt'] as LogKey)
  $('log-lang').textContent = tx('language')
  const me = session.me
  $('log-user').textContent = me?.signedIn ? `${me.username} · ${me.role ? tx(`role_${me.role}`) : ''}` : ''
  fillSelect('f-ward', wards, (w) => wardNames[w][getLang()])
  fillSelect('f-rule', [...new Set([...Object.keys(KNOWN_RULES), ...ruleLabels.keys()])], (r: string) => {
    const title = KNOWN_RULES[r] ?? ruleLabels.get(r)
    // an incident's title is the rule's, then the level's name after a colon
    return title ? title[getLang()].split(':')[0]! : r
  })
  fillSelect('f-severity', severities, (s) => tx(`sev_${s}`))
  fillSelect('f-state', states, (s) => tx(`state_${s}`))
}

/** Options "Tất cả" + values, keeping the selection. */
function fillSelect(id: string, values: readonly string[], label: (v: never) => string): void {
  const sel = $<HTMLSelectElement>(id)
  const keep = sel.value
  const all = new Option(lt('all'), '')
  sel.replaceChildren(all, ...values.map((v) => new Option(label(v as never), v)))
  sel.value = values.includes(keep) ? keep : ''
}

/** The filters as the API's query (GET /incidents and /incidents/export.csv take the same). */
function query(): URLSearchParams | undefined {
  const period = $<HTMLSelectElement>('f-period').value as Period
  const bounds = periodBounds(period, Date.now(), $<HTMLInputElement>('f-from').value, $<HTMLInputElement>('f-to').value)
  if (!bounds) return undefined
  const q = new URLSearchParams({ active: 'false', range: 'active', from: String(bounds.from), to: String(bounds.to), limit: String(LIST_LIMIT) })
  for (const [id, name] of [
    ['f-ward', 'ward'],
    ['f-rule', 'ruleId'],
    ['f-severity', 'severity'],
    ['f-state', 'state'],
  ] as const) {
    const v = $<HTMLSelectElement>(id).value
    if (v) q.set(name, v)
  }
  return q
}

async function fetchIncidents(q: URLSearchParams): Promise<Incident[]> {
  const res = await fetch(`/api/v1/incidents?${q}`, { credentials: 'same-origin' })
  if (res.status === 401) void session.check()
  if (!res.ok) throw new Error(`HTTP ${res.status}`)
  const [{ Incident: schema }, json] = await Promise.all([import('@mytho/schema/incidents'), res.json() as Promise<unknown>])
  const parsed = schema.array().safeParse(json)
  if (!parsed.success) throw new Error('bad incidents response')
  for (const i of parsed.data) if (!ruleLabels.has(i.ruleId)) ruleLabels.set(i.ruleId, i.title)
  return parsed.data
}

function renderShown(): void {
  const status = $('log-status')
  const host = $('log-list')
  status.dataset['state'] = shown === undefined ? 'loading' : shown instanceof Error ? 'error' : 'ready'
  if (shown === undefined) return void (status.textContent = lt('loading'))
  if (shown instanceof Error) {
    status.textContent = lt('loadError')
    host.replaceChildren()
    return
  }
  const n = shown.list.length
  status.textContent = n === 0 ? lt('empty') : shown.truncated ? fill(lt('truncated'), { n }) : `${fill(lt('count'), { n })} (${lt('timeZone')})`
  renderList(host, shown.list, ctx)
}

async function load(): Promise<void> {
  const q = query()
  if (!q) return
  const csv = new URLSearchParams(q)
  csv.delete('limit')
  $<HTMLAnchorElement>('f-csv').href = `/api/v1/incidents/export.csv?${csv}`
  shown = undefined
  renderShown()
  try {
    const list = await fetchIncidents(q)
    shown = { list, truncated: list.length >= LIST_LIMIT }
  } catch (err) {
    shown = err instanceof Error ? err : new Error(String(err))
  }
  applyTexts()
  renderShown()
}

async function openReport(hours: number): Promise<void> {
  const to = Date.now()
  const from = to - hours * 3600_000
  const q = new URLSearchParams({ active: 'false', range: 'active', from: String(from), to: String(to), limit: String(LIST_LIMIT) })
  const list = await fetchIncidents(q).catch(() => undefined)
  if (!list) {
    $('log-status').textContent = lt('loadError')
    return
  }
  report = { list, hours, from, to }
  renderReport($('report-body'), list, hours, from, to, ctx)
  $('shift-report').hidden = false
  $('log-main').hidden = true
  document.body.classList.add('report-open')
}

function closeReport(): void {
  report = undefined
  $('shift-report').hidden = true
  $('log-main').hidden = false
  document.body.classList.remove('report-open')
}

async function loadDevices(): Promise<void> {
  const res = await fetch('/api/v1/devices', { credentials: 'same-origin' }).catch(() => undefined)
  if (!res?.ok) return
  for (const d of (await res.json()) as { id: string; nameVi: string; nameEn: string; ward: string }[]) devices.set(d.id, d)
}

async function start(): Promise<void> {
  $('log-sign-in').hidden = true
  $('log-main').hidden = false
  await loadDevices()
  await load()
}

function wire(): void {
  const period = $<HTMLSelectElement>('f-period')
  const today = localDate(Date.now())
  $<HTMLInputElement>('f-from').value = today
  $<HTMLInputElement>('f-to').value = today
  period.addEventListener('change', () => {
    for (const e of document.querySelectorAll<HTMLElement>('.f-range')) e.hidden = period.value !== 'range'
  })
  $('log-filters').addEventListener('submit', (e) => {
    e.preventDefault()
    void load()
  })
  for (const id of ['shift-8', 'shift-12']) $(id).addEventListener('click', (e) => void openReport(Number((e.currentTarget as HTMLElement).dataset['hours'])))
  $('report-print').addEventListener('click', () => window.print())
  $('report-close').addEventListener('click', closeReport)
  $('log-lang').addEventListener('click', toggleLang)
  onLangChange(() => {
    applyTexts()
    if (shown !== undefined) renderShown()
    if (report) renderReport($('report-body'), report.list, report.hours, report.from, report.to, ctx)
  })
  $('log-sign-in-form').addEventListener('submit', (e) => {
    e.preventDefault()
    const error = $('log-sign-in-error')
    void session.login($<HTMLInputElement>('log-username').value.trim(), $<HTMLInputElement>('log-password').value).then((r) => {
      $<HTMLInputElement>('log-password').value = ''
      error.hidden = r.ok
      if (r.ok) return void start()
      error.textContent = r.reason === 'wrong' ? lt('signInWrong') : lt('signInFailed')
    })
  })
  session.onChange((me) => {
    applyTexts()
    if (me.role !== null) return
    $('log-main').hidden = true
    $('shift-report').hidden = true
    $('log-sign-in').hidden = false
    $('log-username').focus()
  })
}

wire()
applyTexts()
void session.check().then((me) => {
  if (me.role !== null) void start()
})
