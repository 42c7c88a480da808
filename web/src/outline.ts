import * as L from 'leaflet'
import { CITY_BOUNDS, wardNames, wards, type Ward } from './schema.ts'
import type { App } from './app.ts'
import { getLang, t } from './i18n/index.ts'

/*
 * What the map shows with no tile server reachable. No ward polygons with a usable licence exist
 * (../shared/data/mytho-facts.md §0), so: the city's bounding box, an approximate line of the Tiền River's
 * north bank (estimated from the facts sheet's riverside points, §1, ±300 m) and the ward label points
 * (open-admin-data, CC-BY-4.0, §0).
 */
const RIVER_BANK: [number, number][] = [
  [10.336, 106.28],
  [10.342, 106.31],
  [10.346, 106.335],
  [10.348, 106.347],
  [10.3505, 106.357],
  [10.3515, 106.3645],
  [10.3525, 106.372],
  [10.353, 106.38],
  [10.355, 106.4],
  [10.358, 106.44],
]
const WARD_POINTS: Record<Ward, [number, number]> = {
  'my-tho': [10.363, 106.359],
  'dao-thanh': [10.377, 106.361],
  'my-phong': [10.37, 106.387],
  'thoi-son': [10.341, 106.351],
  'trung-an': [10.37, 106.324],
}

export function addOutline({ map, on }: Pick<App, 'map' | 'on'>): void {
  const b = CITY_BOUNDS
  const box = L.rectangle(
    [
      [b.south, b.west],
      [b.north, b.east],
    ],
    { color: '#0b4f6c', weight: 2, dashArray: '6 6', fill: false, interactive: false },
  ).addTo(map)
  const river = L.polyline(RIVER_BANK, { color: '#3d8fd1', weight: 5, opacity: 0.7, interactive: false }).addTo(map)
  // labels under the device canvas (overlayPane is 400): devices stay readable where a label overlaps them
  const pane = map.createPane('mytho-ward-labels')
  pane.style.zIndex = '350'
  pane.style.pointerEvents = 'none'
  const labels = wards.map((w) => {
    const el = document.createElement('span')
    el.className = 'ward-label'
    const m = L.marker(WARD_POINTS[w], {
      icon: L.divIcon({ html: el, className: 'ward-label-icon', iconSize: [0, 0] }),
      interactive: false,
      keyboard: false,
      pane: 'mytho-ward-labels',
    })
    m.addTo(map)
    return { w, el }
  })
  const relabel = () => {
    for (const { w, el } of labels) el.textContent = wardNames[w][getLang()]
    box.getElement()?.setAttribute('aria-label', t('outline'))
    river.getElement()?.setAttribute('aria-label', t('river'))
  }
  relabel()
  on('relabel', relabel)
}
