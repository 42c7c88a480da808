import type * as L from 'leaflet'

/*
 * Where the city's geography sits among Leaflet's panes (tiles 200, overlayPane 400 with the devices' canvas,
 * markers 600, tooltips 650, popups 700): overlay geometry under the devices, so a gauge on a canal stays visible;
 * every map label above the devices' canvas, so no cluster bubble covers a ward or canal name. Labels never take
 * the pointer: a click on a label reaches the cluster under it.
 */
export const OVERLAY_PANE = 'mytho-overlays'
export const LABEL_PANE = 'mytho-labels'

export function ensurePanes(map: L.Map): void {
  if (map.getPane(LABEL_PANE)) return
  map.createPane(OVERLAY_PANE).style.zIndex = '350'
  const labels = map.createPane(LABEL_PANE)
  labels.style.zIndex = '450'
  labels.style.pointerEvents = 'none'
}
