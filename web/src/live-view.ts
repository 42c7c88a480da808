import * as L from 'leaflet'
import type { ViewSubscription } from './schema.ts'
import type { App } from './app.ts'
import { allFilters } from './filters.ts'
import { createLiveClient } from './live-client.ts'
import { createLiveHold } from './replay/live-hold.ts'

/**
 * The live client (live-client.ts) on the link boot.ts opened, subscribed to the map's view and filters. What it
 * receives becomes the app's events (`link`, `firstView`, `updates`, `removed`, `pipeline`) and the stores' contents. The link is
 * dropped when the session ends and opened again, with the new cookie, when an operator signs in.
 */
export function createLiveView(app: App): { start(): void } {
  const { map, filters, session } = app
  /** What the server was last asked for: panning inside it needs no new snapshot. */
  let subscribed: L.LatLngBounds | undefined
  function currentView(): ViewSubscription {
    // a screen around the view on every side, so panning rarely needs a new snapshot
    const b = map.getBounds().pad(1)
    subscribed = b
    const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v))
    const v: ViewSubscription = {
      bbox: [clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -90, 90), clamp(b.getEast(), -180, 180), clamp(b.getNorth(), -90, 90)],
      zoom: clamp(Math.round(map.getZoom()), 0, 22),
    }
    const all = allFilters()
    if (filters.kinds.size < all.kinds.size) v.kinds = [...filters.kinds]
    if (filters.wards.size < all.wards.size) v.wards = [...filters.wards]
    return v
  }

  // while the map replays the past, what the link brings is kept aside, not drawn
  const hold = createLiveHold(app.store)
  const live = createLiveClient({
    link: app.liveLink,
    store: hold.sink,
    incidents: app.incidents,
    view: currentView,
    onLink: (s) => app.emit('link', s),
    onSignInRequired: () => void session.check(),
    onPipeline: (h) => app.emit('pipeline', h),
    onFirstView: (fv, isLive) => app.emit('firstView', fv, isLive),
    onUpdates: (devices) => app.replay === undefined && app.emit('updates', devices),
    onRemoved: (ids) => app.emit('removed', ids),
  })
  map.on('moveend', () => {
    if (!subscribed?.contains(map.getBounds())) live.viewChanged()
  })
  app.on('filters', () => live.viewChanged(0))
  app.on('signedIn', () => live.reconnect())
  let replaying = false
  app.on('replay', () => {
    if (replaying === (app.replay !== undefined)) return
    replaying = !replaying
    if (replaying) return hold.hold()
    // back to live: the present kept aside at once, and a fresh snapshot of the view
    hold.release()
    live.viewChanged(0)
  })
  session.onChange((me) => {
    if (me.role === null) live.pause()
  })
  // The entry's handshake carried an estimate of this view (early-view.ts): if it does not cover the map, ask now.
  const early = app.liveLink.handshakeView
  if (early) {
    subscribed = L.latLngBounds([early.bbox[1], early.bbox[0]], [early.bbox[3], early.bbox[2]])
    if (!subscribed.contains(map.getBounds())) live.viewChanged(0)
  }
  return {
    /** Once every part listens: handles what the link received before (often the first snapshot). */
    start: () => live.start(),
  }
}
