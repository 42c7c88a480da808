import * as L from 'leaflet'
import { wardNames, wards, type Ward } from './schema.ts'
import type { App } from './app.ts'
import { getLang } from './i18n/index.ts'
import { ensurePanes, LABEL_PANE } from './map-panes.ts'

/*
 * The ward names the map always knows: reference points of open-admin-data (CC BY 4.0, 3 decimals;
 * ../shared/data/mytho-facts.md §0). No boundary, river or box is drawn from memory: outlines come only from the
 * city's files (overlays.ts, MAP_OVERLAYS_DIR); a ward-outline overlay with its own labels hides these.
 */
const WARD_POINTS: Record<Ward, [number, number]> = {
  'my-tho': [10.363, 106.359],
  'dao-thanh': [10.377, 106.361],
  'my-phong': [10.37, 106.387],
  'thoi-son': [10.341, 106.351],
  'trung-an': [10.37, 106.324],
}
const WARD_POINTS_ATTRIBUTION = 'Ward points: open-admin-data (CC BY 4.0)'

export function addOutline({ map, on }: Pick<App, 'map' | 'on'>): void {
  ensurePanes(map)
  const labels = wards.map((w) => {
    const el = document.createElement('span')
    el.className = 'ward-label map-label'
    el.dataset['priority'] = '0'
    return {
      w,
      el,
      marker: L.marker(WARD_POINTS[w], {
        icon: L.divIcon({ html: el, className: 'map-label-icon', iconSize: [0, 0] }),
        interactive: false,
        keyboard: false,
        pane: LABEL_PANE,
      }),
    }
  })
  L.layerGroup(
    labels.map((l) => l.marker),
    { attribution: WARD_POINTS_ATTRIBUTION },
  ).addTo(map)
  const relabel = () => {
    for (const { w, el } of labels) el.textContent = wardNames[w][getLang()]
  }
  relabel()
  on('relabel', relabel)
}
