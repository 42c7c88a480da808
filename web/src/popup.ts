import type uPlot from 'uplot'
import { metricsByKind, wardNames, type LiveDeviceState } from './schema.ts'
import { primaryMetric } from './alarm-levels.ts'
import { formatLocalTime, formatValue } from './format.ts'
import { getLang, t, tx } from './i18n/index.ts'
import { statusColors } from './status.ts'
import type { DeviceStore } from './store.ts'
import { fetchDeviceIncidents, incidentMarks, renderIncidentHistory } from './incidents-history.ts'
import { historyHref } from './history/link.ts'
import { ht } from './i18n/history.ts'
import { incidentAt, LevelTexts } from './replay/incident-at.ts'

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] => {
  const e = document.createElement(tag)
  if (cls) e.className = cls
  if (text !== undefined) e.textContent = text
  return e
}

/**
 * The content of a device popup, built with textContent only: names and values come from devices and the
 * registry and are never parsed as HTML. `refresh()` rewrites the values in place when an update arrives;
 * the chart is drawn once per opening (and again on a language switch).
 */
export function createPopupContent(
  store: DeviceStore,
  deviceId: string,
  onResize: () => void = () => undefined,
  /** The replay cursor while the map replays: the chart's 24 h end there and later incidents are left out. */
  replayAt: () => number | undefined = () => undefined,
) {
  const root = el('div', 'device-popup')
  root.dataset['deviceId'] = deviceId
  const title = el('h3', 'popup-title')
  const idLine = el('div', 'popup-id', deviceId)
  const meta = el('div', 'popup-meta')
  const stale = el('div', 'popup-stale')
  const values = el('table', 'popup-values')
  const seen = el('div', 'popup-seen')
  const chartTitle = el('div', 'popup-chart-title')
  const chart = el('div', 'popup-chart')
  // the history explorer with this device chosen: ranges, zoom, comparison, CSV
  const historyLink = el('a', 'popup-history-link')
  const incidents = el('div', 'popup-incidents')
  root.append(title, idLine, meta, stale, values, seen, chartTitle, chart, historyLink, incidents)
  let plot: uPlot | undefined
  /** Drawings started; a slower earlier one must not replace a newer one. */
  let drawings = 0

  const refresh = () => {
    const lang = getLang()
    const d: LiveDeviceState | undefined = store.devices.get(deviceId)
    const m = store.meta.get(deviceId)
    title.textContent = store.name(deviceId, lang)
    const kind = d?.kind ?? m?.kind
    const ward = d?.ward ?? m?.ward
    meta.replaceChildren()
    if (kind) meta.append(el('span', 'chip', tx(`kind_${kind}`)))
    if (ward) meta.append(el('span', 'chip', wardNames[ward][lang]))
    if (d) {
      const s = el('span', 'chip status', tx(`status_${d.status}`))
      s.style.background = statusColors[d.status]
      s.dataset['status'] = d.status
      meta.append(s)
      if (d.connection) meta.append(el('span', 'chip', `${t('connection')}: ${d.connection === 'online' ? t('online') : t('offlineConn')}`))
    }
    stale.textContent = store.live ? '' : t('staleNote')
    stale.hidden = store.live
    const fields = d?.lastReading?.fields ?? {}
    const order = kind ? (metricsByKind[kind] as readonly string[]) : Object.keys(fields)
    const rows: HTMLTableRowElement[] = []
    for (const f of [...order, ...Object.keys(fields).filter((k) => !order.includes(k))]) {
      const v = fields[f]
      if (v === undefined) continue
      const tr = el('tr')
      tr.dataset['field'] = f
      tr.append(el('th', undefined, tx(`field_${f}`)), el('td', 'value', formatValue(f, v)))
      rows.push(tr)
    }
    values.replaceChildren(...rows)
    seen.textContent = `${t('lastSeen')}: ${d?.lastSeen != null ? `${formatLocalTime(d.lastSeen)} (${t('timeZone')})` : t('never')}`
  }

  const drawChart = () => {
    const kind = store.devices.get(deviceId)?.kind ?? store.meta.get(deviceId)?.kind
    if (!kind) return
    const metric = primaryMetric[kind]
    chartTitle.textContent = `${tx(`field_${metric}`)} — ${t('chart24h')}`
    historyLink.href = historyHref(deviceId, metric)
    historyLink.textContent = ht('viewHistory')
    plot?.destroy()
    const drawing = ++drawings
    const at = replayAt()
    // the device's incidents: listed below the chart, their raise/clear times drawn on it
    const history = fetchDeviceIncidents(deviceId).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))))
    // uPlot and the response schema load with the first popup, not with the map
    void Promise.all([import('./chart.ts'), history])
      .then(([{ renderChart }, list]) => {
        if (drawing !== drawings) return undefined
        // replaying: the device's incidents as they stood at the cursor (a later clearing not yet shown)
        const shown = at === undefined || list instanceof Error ? list : list.flatMap((i) => incidentAt(i, at, new LevelTexts()) ?? [])
        renderIncidentHistory(incidents, shown)
        return renderChart(chart, deviceId, metric, shown instanceof Error ? [] : incidentMarks(shown), at)
      })
      .then((p) => {
        if (drawing !== drawings) return p?.destroy()
        plot = p
        onResize() // the popup grew: let Leaflet re-pan it into view
      })
  }

  refresh()
  return {
    root,
    refresh,
    drawChart,
    relabel: () => {
      refresh()
      drawChart()
    },
    destroy: () => plot?.destroy(),
  }
}
export type PopupContent = ReturnType<typeof createPopupContent>
