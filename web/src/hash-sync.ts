import type { App } from './app.ts'
import { formatHash, parseHash } from './deeplink.ts'
import { allFilters } from './filters.ts'

/**
 * The URL hash (deeplink.ts) follows the view, the selected device and the filters, so a link or a reload shows the
 * same map; a hash the operator edits (or a link opened in the same tab) is followed back.
 */
export function syncHash(app: App): void {
  const { map, filters } = app
  let selected: string | undefined
  let writing = false
  const write = () => {
    const h = formatHash(map.getCenter(), map.getZoom(), selected, filters, app.replay)
    if (h === location.hash) return
    writing = true
    history.replaceState(null, '', h)
    writing = false
  }
  app.on('selected', (id) => {
    selected = id
    write()
  })
  app.on('filters', (from) => from === 'panel' && write())
  map.on('moveend', write)
  app.on('replay', write)

  window.addEventListener('hashchange', () => {
    if (writing) return
    const s = parseHash(location.hash)
    const all = allFilters()
    filters.kinds = new Set(s.kinds ?? all.kinds)
    filters.statuses = new Set(s.statuses ?? all.statuses)
    filters.wards = new Set(s.wards ?? all.wards)
    if (s.lat !== undefined && s.lon !== undefined) map.setView([s.lat, s.lon], s.zoom ?? map.getZoom())
    app.emit('filters', 'link')
    if (s.selected && s.selected !== selected) app.emit('open', s.selected, s.lat === undefined)
  })
}
