import * as L from 'leaflet'
import { deviceStatuses, type DeviceStatus } from './schema.ts'
import type { App } from './app.ts'
import { ClusterLayer } from './cluster-layer.ts'
import { $ } from './dom.ts'
import { accepts, acceptsAll } from './filters.ts'
import { tx } from './i18n/index.ts'
import { statusColors } from './status.ts'

/**
 * The devices on the map: the cluster layer (cluster-layer.ts) fed by the store, the filters, the incidents (halos),
 * the link (dimmed when not live) and the selection (drawn on top); the counts of a hovered cluster; the first frame
 * of live state, from the server's first-view clusters or the first snapshot, which it announces (`firstRender`).
 */
export function createDevicesLayer(app: App): { readonly stats: ClusterLayer['stats'] } {
  const { map, store, filters, incidents } = app
  const tip = $('cluster-tip')
  const cluster = new ClusterLayer({
    store,
    accept: (d) => accepts(filters, d),
    onSelect: (id) => app.emit('open', id, false),
    onHoverCluster: showTip,
  })
  cluster.addTo(map)

  let rendered = false
  const firstRender = (byStatus: Record<DeviceStatus, number>, beforeSnapshot: boolean) => {
    rendered = true
    // load milestone for platform/bench/map-fps.ts
    performance.mark('mytho:first-render')
    app.emit('firstRender', { byStatus, beforeSnapshot })
  }

  /**
   * The server's clusters of the handshake's view, before its snapshot: drawn now when they fit (every device, so not
   * for a filtered map; showFirst refuses another zoom or box). The snapshot that follows builds the index.
   */
  app.on('firstView', (fv, live) => {
    if (!acceptsAll(filters) || !cluster.showFirst(fv)) return
    if (!live || rendered) return
    // every device of the server's view under its status, as the rows count them
    const byStatus = Object.fromEntries(deviceStatuses.map((st, k) => [st, fv.id.reduce((n, _, r) => n + fv.counts[5 * r + k]!, 0)])) as Record<
      DeviceStatus,
      number
    >
    firstRender(byStatus, true)
  })

  let fitted = false
  store.on((e) => {
    if (e.type === 'snapshot') {
      if (!fitted && app.opened.lat === undefined && store.devices.size > 0) {
        // first data and no position in the link: frame the fleet rather than the whole city box
        fitted = true
        const b = L.latLngBounds([...store.devices.values()].map((d) => [d.lat, d.lon] as [number, number]))
        map.fitBounds(b, { padding: [30, 30], maxZoom: 15, animate: false })
      }
      // the server's first-view clusters on screen: the index from this snapshot after the next paint
      if (cluster.showingFirst) cluster.swapAfterPaint()
      else cluster.rebuild()
      // navigation start → first live snapshot drawn (rebuild draws synchronously)
      if (store.live && !rendered) firstRender(store.countByStatus(), false)
    } else if (e.type === 'removed') {
      // rare (an admin's action): a rebuild drops its point from every cluster count. While the server's first-view
      // clusters are shown, the snapshot that replaces them no longer has it.
      if (!cluster.showingFirst) cluster.rebuild()
    } else if (e.changes.length) {
      // values alone change nothing on the map; statuses change sprites and cluster colours
      cluster.changed(e.changes)
    }
  })
  // halos of the incidents shown: the live ones, or while replaying those as they stood at the cursor
  const halos = () => cluster.setAlarmed((app.replay ? app.replayIncidents : incidents).alarmedDevices())
  incidents.on(halos)
  app.replayIncidents.on(halos)
  app.on('replay', halos)
  app.on('filters', () => cluster.rebuild())
  app.on('selected', (id) => {
    cluster.selected = id
    cluster.scheduleDraw()
  })
  app.on('link', (s) => {
    cluster.dimmed = s !== 'live'
    cluster.scheduleDraw()
  })
  map.on('moveend', () => (tip.hidden = true))

  function showTip(counts: number[] | undefined, at: L.Point): void {
    if (!counts) {
      tip.hidden = true
      return
    }
    tip.replaceChildren(
      ...deviceStatuses.flatMap((s, i) => {
        const n = counts[i] ?? 0
        if (!n) return []
        const row = document.createElement('div')
        const sw = document.createElement('i')
        sw.className = 'swatch'
        sw.style.background = statusColors[s]
        const label = document.createElement('span')
        label.textContent = `${tx(`status_${s}`)}: ${n}`
        row.append(sw, label)
        return [row]
      }),
    )
    const box = map.getContainer().getBoundingClientRect()
    tip.style.left = `${box.left + at.x + 16}px`
    tip.style.top = `${box.top + at.y + 8}px`
    tip.hidden = false
  }

  return {
    get stats() {
      return cluster.stats
    },
  }
}
