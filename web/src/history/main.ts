/*
 * The history explorer (history.html, issue #18): one metric of up to 8 devices of a kind on one chart, over a preset
 * or custom range in Mỹ Tho time, in the window the range calls for; zoom, pan, the value under the cursor, the alarm
 * levels; the CSV of the same from the API; a deep link in the URL hash. Behind the map's sign-in, as the incident log.
 */
import 'uplot/dist/uPlot.min.css'
import './history.css'
import type uPlot from 'uplot'
import { AlarmLinesResponse } from '@mytho/schema/incidents'
import { HISTORY_COMPARE_MAX_DEVICES, HISTORY_MAX_RANGE_MS, HistorySeries, windows, type AggregationWindow } from '@mytho/schema/stored-reading'
import { levelsFromLines, primaryMetric, type ChartLevel } from '../alarm-levels.ts'
import { fold, formatValue } from '../format.ts'
import { getLang, onLangChange, toggleLang, tx } from '../i18n/index.ts'
import { ht, type HistoryKey } from '../i18n/history.ts'
import { fill } from '../i18n/incident-log.ts'
import { deviceKinds, metricsByKind, type DeviceKind } from '../schema.ts'
import { createSession } from '../session.ts'
import { drawChart, pan, seriesColors, type ChartSeries } from './chart.ts'
import { bounds, fromHash, localInput, toHash, windowOf, type HistoryView } from './view.ts'

interface Device {
  id: string
  nameVi: string
  nameEn: string
  kind: DeviceKind
}
/** Most search results listed at once. */
const RESULTS_MAX = 12
const DAY_MS = 24 * 3600_000

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T
const session = createSession()
const devices = new Map<string, Device>()
let view: HistoryView = { metric: primaryMetric.water_level, devices: [], range: '24h', from: '', to: '', window: undefined }
/** What was last drawn, kept to redraw on a language switch without asking the API again. */
let drawn: { series: HistorySeries[]; levels: ChartLevel[]; from: number; to: number; window: AggregationWindow } | undefined
let plot: uPlot | undefined
let loads = 0

const name = (id: string): string => {
  const d = devices.get(id)
  return d ? (getLang() === 'vi' ? d.nameVi : d.nameEn) : id
}
/** The kind the chart is of: its devices', else the first kind that has the metric. */
const kindOf = (v: HistoryView): DeviceKind =>
  devices.get(v.devices[0] ?? '')?.kind ?? deviceKinds.find((k) => (metricsByKind[k] as readonly string[]).includes(v.metric)) ?? 'water_level'

function setStatus(key: HistoryKey, values: Record<string, string | number> = {}, state = 'ready'): void {
  const s = $('h-status')
  s.textContent = fill(ht(key), values)
  s.dataset['state'] = state
}

function applyTexts(): void {
  document.documentElement.lang = getLang()
  document.title = ht('pageTitle')
  for (const e of document.querySelectorAll<HTMLElement>('[data-ht]')) e.textContent = ht(e.dataset['ht'] as HistoryKey)
  $('h-lang').textContent = tx('language')
  $('h-devices-label').textContent = fill(ht('devices'), { n: HISTORY_COMPARE_MAX_DEVICES })
  $<HTMLInputElement>('h-search').placeholder = ht('search')
  const me = session.me
  $('h-user').textContent = me?.signedIn ? `${me.username} · ${me.role ? tx(`role_${me.role}`) : ''}` : ''
  renderMetricOptions()
  renderWindowOptions()
  renderChosen()
}

/** The metrics of every kind, grouped by kind: `water_level:waterLevelCm` (batteryV is in every kind). */
function renderMetricOptions(): void {
  const sel = $<HTMLSelectElement>('h-metric')
  sel.replaceChildren(
    ...deviceKinds.map((k) => {
      const g = document.createElement('optgroup')
      g.label = tx(`kind_${k}`)
      g.append(...metricsByKind[k].map((m) => new Option(tx(`field_${m}`), `${k}:${m}`)))
      return g
    }),
  )
  sel.value = `${kindOf(view)}:${view.metric}`
}

function renderWindowOptions(): void {
  const sel = $<HTMLSelectElement>('h-window')
  const b = bounds(view, Date.now())
  const auto = new Option(fill(ht('auto'), { w: b ? ht(`w_${windowOf({ ...view, window: undefined }, b)}`) : '—' }), '')
  sel.replaceChildren(auto, ...windows.map((w) => new Option(ht(`w_${w}`), w)))
  sel.value = view.window ?? ''
}

/** The chosen devices as chips, each in its line's colour, with a remove button. */
function renderChosen(): void {
  const items = view.devices.map((id, i) => {
    const li = document.createElement('li')
    li.className = 'h-chip'
    li.dataset['deviceId'] = id
    li.style.setProperty('--c', seriesColors[i % seriesColors.length]!)
    const label = document.createElement('span')
    label.textContent = name(id)
    label.title = id
    const x = document.createElement('button')
    x.type = 'button'
    x.textContent = '×'
    x.setAttribute('aria-label', fill(ht('remove'), { name: name(id) }))
    x.addEventListener('click', () => {
      view = { ...view, devices: view.devices.filter((d) => d !== id) }
      renderChosen()
      void load()
      $('h-search').focus()
    })
    li.append(label, x)
    return li
  })
  $('h-chosen').replaceChildren(...items)
  const full = view.devices.length >= HISTORY_COMPARE_MAX_DEVICES
  const search = $<HTMLInputElement>('h-search')
  search.disabled = full
  search.placeholder = full ? fill(ht('full'), { n: HISTORY_COMPARE_MAX_DEVICES }) : ht('search')
}

/** Devices of the chart's kind matching the search (id or name, without diacritics), not chosen yet. */
function renderResults(): void {
  const list = $('h-results')
  const text = fold($<HTMLInputElement>('h-search').value.trim())
  if (text === '') {
    list.hidden = true
    list.replaceChildren()
    return
  }
  const kind = kindOf(view)
  const found = [...devices.values()]
    .filter(
      (d) => d.kind === kind && !view.devices.includes(d.id) && (fold(d.id).includes(text) || fold(d.nameVi).includes(text) || fold(d.nameEn).includes(text)),
    )
    .slice(0, RESULTS_MAX)
  list.replaceChildren(
    ...(found.length === 0
      ? [Object.assign(document.createElement('li'), { className: 'h-none', textContent: ht('noResults') })]
      : found.map((d) => {
          const li = document.createElement('li')
          const b = document.createElement('button')
          b.type = 'button'
          b.dataset['deviceId'] = d.id
          b.textContent = `${name(d.id)} (${d.id})`
          b.addEventListener('click', () => addDevice(d.id))
          li.append(b)
          return li
        })),
  )
  list.hidden = false
}

function addDevice(id: string): void {
  if (view.devices.includes(id) || view.devices.length >= HISTORY_COMPARE_MAX_DEVICES) return
  view = { ...view, devices: [...view.devices, id] }
  $<HTMLInputElement>('h-search').value = ''
  renderResults()
  renderChosen()
  void load()
  $('h-search').focus()
}

/** The range controls as the view has them. */
function showRange(): void {
  $<HTMLSelectElement>('h-range').value = view.range
  for (const e of document.querySelectorAll<HTMLElement>('.h-custom')) e.hidden = view.range !== 'custom'
  if (view.range === 'custom') {
    $<HTMLInputElement>('h-from').value = view.from
    $<HTMLInputElement>('h-to').value = view.to
  }
}

const query = (b: { from: number; to: number }, window: AggregationWindow) =>
  new URLSearchParams({ deviceIds: view.devices.join(','), metric: view.metric, from: String(b.from), to: String(b.to), window })

/** Each device's lines from the rules that judge it (its override first); one line per value. */
async function levelsOf(ids: readonly string[], metric: string): Promise<ChartLevel[]> {
  const all = await Promise.all(
    ids.map(async (id) => {
      const res = await fetch(`/api/v1/devices/${encodeURIComponent(id)}/alarm-lines`, { credentials: 'same-origin' }).catch(() => undefined)
      const parsed = res?.ok ? AlarmLinesResponse.safeParse(await res.json()) : undefined
      return parsed?.success ? levelsFromLines(parsed.data.lines, metric) : []
    }),
  )
  const out: ChartLevel[] = []
  for (const l of all.flat()) if (!out.some((o) => o.value === l.value)) out.push(l)
  return out
}

function clearChart(): void {
  plot?.destroy()
  plot = undefined
  drawn = undefined
  $('h-chart').replaceChildren()
  $('h-levels').replaceChildren()
  delete $('h-chart').dataset['window']
}

/** Fetches and draws the view; the hash and the CSV link follow it. */
async function load(): Promise<void> {
  const load = ++loads
  const b = bounds(view, Date.now())
  history.replaceState(null, '', toHash(view, b))
  renderWindowOptions()
  const csv = $<HTMLAnchorElement>('h-csv')
  csv.removeAttribute('href')
  if (view.devices.length === 0) return void (clearChart(), setStatus('pickDevice'))
  if (!b) return void (clearChart(), setStatus('badRange', {}, 'error'))
  const window = windowOf(view, b)
  const max = HISTORY_MAX_RANGE_MS[window]
  if (b.to - b.from > max) return void (clearChart(), setStatus('tooLong', { w: ht(`w_${window}`), d: max / DAY_MS }, 'error'))
  csv.href = `/api/v1/history.csv?${query(b, window)}`
  setStatus('loading', {}, 'loading')
  try {
    const [res, levels] = await Promise.all([fetch(`/api/v1/history?${query(b, window)}`, { credentials: 'same-origin' }), levelsOf(view.devices, view.metric)])
    if (res.status === 401) void session.check()
    if (!res.ok) throw new Error(`HTTP ${res.status}`)
    const parsed = HistorySeries.array().safeParse(await res.json())
    if (!parsed.success) throw new Error('bad history response')
    if (load !== loads) return
    drawn = { series: parsed.data, levels, from: b.from, to: b.to, window }
    draw()
  } catch {
    if (load !== loads) return
    clearChart()
    setStatus('loadError', {}, 'error')
  }
}

function draw(): void {
  if (!drawn) return
  const host = $('h-chart')
  plot?.destroy()
  const series: ChartSeries[] = drawn.series.map((s) => ({ deviceId: s.deviceId, label: name(s.deviceId), points: s.points }))
  const points = series.reduce((n, s) => n + s.points.length, 0)
  plot = drawChart(host, { metric: view.metric, from: drawn.from, to: drawn.to, series, levels: drawn.levels, timeLabel: ht('time') })
  host.dataset['window'] = drawn.window
  host.dataset['series'] = String(series.length)
  host.dataset['points'] = String(points)
  const legend = drawn.levels.map((l) => {
    const item = document.createElement('span')
    item.style.setProperty('--c', l.color)
    item.textContent = `${getLang() === 'vi' ? l.labelVi : l.labelEn}: ${formatValue(view.metric, l.value)}`
    return item
  })
  if (legend.length) legend.unshift(Object.assign(document.createElement('span'), { className: 'h-levels-title', textContent: ht('levels') }))
  $('h-levels').replaceChildren(...legend)
  if (points === 0) setStatus('empty')
  else setStatus('shown', { n: points, w: ht(`w_${drawn.window}`) })
}

const panBy = (dir: -1 | 1) => plot && drawn && pan(plot, dir, drawn)

function applyHash(): void {
  const h = fromHash(location.hash, Date.now())
  view = { ...view, ...h, window: h.window }
  // a deep link's devices: known ones of one kind, at most 8
  const known = view.devices.filter((id) => devices.has(id))
  const kind = devices.get(known[0] ?? '')?.kind
  view.devices = known.filter((id) => devices.get(id)?.kind === kind).slice(0, HISTORY_COMPARE_MAX_DEVICES)
  if (!h.metric && kind) view.metric = primaryMetric[kind]
  if (kind && !(metricsByKind[kind] as readonly string[]).includes(view.metric)) view.metric = primaryMetric[kind]
  if (view.range === 'custom' && !h.from) {
    const now = Date.now()
    view.from = localInput(now - DAY_MS)
    view.to = localInput(now)
  }
  showRange()
  applyTexts()
}

async function loadDevices(): Promise<void> {
  const res = await fetch('/api/v1/devices', { credentials: 'same-origin' }).catch(() => undefined)
  if (!res?.ok) return
  for (const d of (await res.json()) as Device[]) devices.set(d.id, { id: d.id, nameVi: d.nameVi, nameEn: d.nameEn, kind: d.kind })
}

async function start(): Promise<void> {
  $('h-sign-in').hidden = true
  $('h-main').hidden = false
  await loadDevices()
  applyHash()
  await load()
}

function wire(): void {
  $('h-metric').addEventListener('change', (e) => {
    const [kind, metric] = (e.currentTarget as HTMLSelectElement).value.split(':') as [DeviceKind, string]
    // another kind's metric: its devices are not comparable with these
    view = { ...view, metric, devices: view.devices.filter((id) => devices.get(id)?.kind === kind) }
    renderChosen()
    renderResults()
    void load()
  })
  const range = $<HTMLSelectElement>('h-range')
  range.addEventListener('change', () => {
    if (range.value === 'custom') {
      // start from what is shown
      const b = bounds(view, Date.now()) ?? { from: Date.now() - DAY_MS, to: Date.now() }
      view = { ...view, range: 'custom', from: localInput(b.from), to: localInput(b.to) }
      showRange()
      return void load()
    }
    view = { ...view, range: range.value as HistoryView['range'] }
    showRange()
    void load()
  })
  $('h-window').addEventListener('change', (e) => {
    const w = (e.currentTarget as HTMLSelectElement).value
    view = { ...view, window: w === '' ? undefined : (w as AggregationWindow) }
    void load()
  })
  $('h-controls').addEventListener('submit', (e) => {
    e.preventDefault()
    if (view.range === 'custom') view = { ...view, from: $<HTMLInputElement>('h-from').value, to: $<HTMLInputElement>('h-to').value }
    void load()
  })
  const search = $<HTMLInputElement>('h-search')
  search.addEventListener('input', renderResults)
  search.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault()
      const first = $('h-results').querySelector<HTMLButtonElement>('button[data-device-id]')
      if (first) addDevice(first.dataset['deviceId']!)
    } else if (e.key === 'Escape') {
      search.value = ''
      renderResults()
    } else if (e.key === 'ArrowDown') {
      e.preventDefault()
      $('h-results').querySelector<HTMLButtonElement>('button')?.focus()
    }
  })
  $('h-pan-left').addEventListener('click', () => panBy(-1))
  $('h-pan-right').addEventListener('click', () => panBy(1))
  $('h-reset').addEventListener('click', () => plot && drawn && plot.setScale('x', { min: drawn.from / 1000, max: drawn.to / 1000 }))
  let resizeFrame = 0
  window.addEventListener('resize', () => {
    resizeFrame ||= requestAnimationFrame(() => {
      resizeFrame = 0
      // uPlot sizes in pixels: follow the page's width, keeping the zoom
      plot?.setSize({ width: Math.max(260, $('h-chart').clientWidth), height: plot.height })
    })
  })
  window.addEventListener('hashchange', () => {
    applyHash()
    void load()
  })
  $('h-lang').addEventListener('click', toggleLang)
  onLangChange(() => {
    applyTexts()
    draw()
  })
  $('h-sign-in-form').addEventListener('submit', (e) => {
    e.preventDefault()
    const error = $('h-sign-in-error')
    void session.login($<HTMLInputElement>('h-username').value.trim(), $<HTMLInputElement>('h-password').value).then((r) => {
      $<HTMLInputElement>('h-password').value = ''
      error.hidden = r.ok
      if (r.ok) return void start()
      error.textContent = r.reason === 'wrong' ? ht('signInWrong') : ht('signInFailed')
    })
  })
  session.onChange((me) => {
    applyTexts()
    if (me.role !== null) return
    $('h-main').hidden = true
    $('h-sign-in').hidden = false
    $('h-username').focus()
  })
}

wire()
applyTexts()
void session.check().then((me) => {
  if (me.role !== null) void start()
})
