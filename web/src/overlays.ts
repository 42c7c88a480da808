import * as L from 'leaflet'
import type { OverlayCollection, OverlayFeature, OverlayGeometry, OverlayGroup, OverlayListResponse, OverlaySummary } from '@mytho/schema/overlays'
import type { App } from './app.ts'
import { $, escapeHtml } from './dom.ts'
import { getLang, t } from './i18n/index.ts'
import { declutterLabels } from './label-declutter.ts'
import { labelPoint } from './label-point.ts'
import { ensurePanes, LABEL_PANE, OVERLAY_PANE } from './map-panes.ts'

const BASE = '/api/v1'
/** Which label stays when two overlap (label-declutter.ts): lower first, so ward names are the last to give way. */
const GROUP_PRIORITY: Record<OverlayGroup, number> = { boundaries: 0, water: 1, hazards: 2, roads: 3, other: 4 }

/**
 * The city's overlays (GET /api/v1/overlays, from MAP_OVERLAYS_DIR): each drawn in its style under the devices, its
 * labels above them, its attribution shown while it is on, and a check box in the filter panel. Asked once the API
 * has said who we are (the routes need a role); an overlay's GeoJSON is fetched the first time it is shown.
 */
export function createOverlays({ map, session, on }: Pick<App, 'map' | 'session' | 'on'>): void {
  ensurePanes(map)
  const declutter = declutterLabels(map)
  let asked = false
  session.onChange((me) => {
    if (asked || me.role === null) return
    asked = true
    void fetchJson<OverlayListResponse>(`${BASE}/overlays`).then((r) => r && r.overlays.length > 0 && addPanel(r.overlays))
  })

  // A ward-outline overlay with its own labels hides the built-in ward points' names (outline.ts), so no name is written twice.
  let wardLabelled = 0
  const wardLabels = (delta: number) => {
    wardLabelled += delta
    map.getContainer().classList.toggle('has-ward-outlines', wardLabelled > 0)
    declutter()
  }

  function addPanel(overlays: OverlaySummary[]) {
    const fs = document.createElement('fieldset')
    fs.className = 'filter-group filter-overlays'
    const legend = document.createElement('legend')
    legend.dataset['i18n'] = 'mapLayers'
    legend.textContent = t('mapLayers')
    fs.append(legend)
    const names: { span: HTMLSpanElement; o: OverlaySummary }[] = []
    for (const o of overlays) {
      const layer = overlayLayer(o, o.group === 'boundaries' && o.labelProperty !== undefined ? wardLabels : undefined)
      const lab = document.createElement('label')
      const input = document.createElement('input')
      input.type = 'checkbox'
      input.name = `overlay:${o.id}`
      input.checked = o.defaultOn
      input.addEventListener('change', () => layer.show(input.checked))
      const sw = document.createElement('i')
      sw.className = 'swatch overlay-swatch'
      sw.style.background = o.style.fill ? (o.style.fillColor ?? o.style.color) : o.style.color
      const span = document.createElement('span')
      span.textContent = o.name[getLang()]
      lab.append(input, sw, span)
      fs.append(lab)
      names.push({ span, o })
      if (o.defaultOn) layer.show(true)
    }
    $('filters').append(fs)
    on('relabel', () => {
      for (const { span, o } of names) span.textContent = o.name[getLang()]
    })
  }

  function overlayLayer(o: OverlaySummary, countsAsWardLabels: ((delta: number) => void) | undefined) {
    const group = L.layerGroup([], { attribution: escapeHtml(o.attribution) })
    let loading: Promise<void> | undefined
    let wanted = false
    const load = () =>
      (loading ??= fetchJson<OverlayCollection>(o.url).then((data) => {
        // not loaded (the API was unreachable): the next time the box is ticked asks again
        if (!data) return void (loading = undefined)
        group.addLayer(shapes(o, data))
        const labels = o.labelProperty === undefined ? [] : featureLabels(data.features, o.labelProperty, o.id, GROUP_PRIORITY[o.group])
        for (const l of labels) group.addLayer(l)
        declutter()
      }))
    return {
      show(on: boolean) {
        if (on === wanted) return
        wanted = on
        countsAsWardLabels?.(on ? 1 : -1)
        if (on) {
          group.addTo(map)
          void load()
        } else group.remove()
        declutter()
      },
    }
  }
}

function shapes(o: OverlaySummary, data: OverlayCollection): L.GeoJSON {
  const s = o.style
  return L.geoJSON(data as GeoJSON.FeatureCollection, {
    pane: OVERLAY_PANE,
    interactive: false,
    style: (f) => {
      const area = f?.geometry.type === 'Polygon' || f?.geometry.type === 'MultiPolygon'
      return {
        color: s.color,
        weight: s.weight,
        opacity: s.opacity,
        fill: area && s.fill,
        fillColor: s.fillColor ?? s.color,
        fillOpacity: s.fillOpacity,
        ...(s.dash !== undefined ? { dashArray: s.dash } : {}),
        className: `overlay-shape overlay-${o.id}`,
      }
    },
    pointToLayer: (_f, at) => L.circleMarker(at, { radius: 4, pane: OVERLAY_PANE, interactive: false }),
  })
}

/** One label per feature that has the label property as text, at a point inside its shape (label-point.ts). */
function featureLabels(features: OverlayFeature[], property: string, id: string, priority: number): L.Marker[] {
  const out: L.Marker[] = []
  for (const f of features) {
    const text = f.properties?.[property]
    if (typeof text !== 'string' || text.trim() === '') continue
    const at = labelPoint(f.geometry as OverlayGeometry)
    if (!at) continue
    const el = document.createElement('span')
    el.className = 'map-label overlay-label'
    el.dataset['overlay'] = id
    el.dataset['priority'] = String(priority)
    // the city's file: text, never markup
    el.textContent = text
    out.push(
      L.marker([at[1], at[0]], {
        icon: L.divIcon({ html: el, className: 'map-label-icon', iconSize: [0, 0] }),
        interactive: false,
        keyboard: false,
        pane: LABEL_PANE,
      }),
    )
  }
  return out
}

async function fetchJson<T>(url: string): Promise<T | undefined> {
  try {
    const res = await fetch(url, { headers: { accept: 'application/json, application/geo+json' }, credentials: 'same-origin' })
    return res.ok ? ((await res.json()) as T) : undefined
  } catch {
    return undefined // the API unreachable: the map goes on without the layer; the link status says why
  }
}
