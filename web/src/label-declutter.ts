import type * as L from 'leaflet'
import { LABEL_PANE } from './map-panes.ts'

/**
 * Map labels that would overlap one another: the later (lower priority: `data-priority`, then drawing order) is
 * hidden until a zoom makes room. Recomputed after each zoom and whenever labels come or go; a handful of
 * overlays' labels is a few hundred rectangles at most.
 */
export function declutterLabels(map: L.Map): () => void {
  let frame = 0
  const run = () => {
    frame = 0
    const pane = map.getPane(LABEL_PANE)
    if (!pane) return
    const labels = [...pane.querySelectorAll<HTMLElement>('.map-label')]
    for (const el of labels) el.classList.remove('label-crowded')
    const shown: DOMRect[] = []
    const ordered = labels.map((el, i) => ({ el, i, p: Number(el.dataset['priority'] ?? 5) })).sort((a, b) => a.p - b.p || a.i - b.i)
    for (const { el } of ordered) {
      const r = el.getBoundingClientRect()
      if (r.width === 0) continue // not displayed
      if (shown.some((s) => r.left < s.right && r.right > s.left && r.top < s.bottom && r.bottom > s.top)) el.classList.add('label-crowded')
      else shown.push(r)
    }
  }
  const schedule = () => void (frame ||= requestAnimationFrame(run))
  map.on('zoomend', schedule)
  return schedule
}
