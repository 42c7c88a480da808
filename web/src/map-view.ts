import * as L from 'leaflet'
import { CITY_BOUNDS } from './schema.ts'
import type { App } from './app.ts'
import { loadConfig, localConfig, type MapConfig } from './config.ts'
import type { LinkState } from './deeplink.ts'
import { LINK_ZOOM, MAP_MAX_ZOOM, MAP_MIN_ZOOM } from './early-view.ts'
import { escapeHtml } from './dom.ts'
import type { BasemapInfo } from '@mytho/schema/overlays'

/** The Leaflet map, at the link's position or framing the city's box (early-view.ts estimates the same view). */
export function createMap(host: HTMLElement, opened: LinkState): L.Map {
  const map = L.map(host, { zoomControl: true, minZoom: MAP_MIN_ZOOM, maxZoom: MAP_MAX_ZOOM, worldCopyJump: false })
  if (opened.lat !== undefined && opened.lon !== undefined) map.setView([opened.lat, opened.lon], opened.zoom ?? LINK_ZOOM)
  else map.fitBounds(L.latLngBounds([CITY_BOUNDS.south, CITY_BOUNDS.west], [CITY_BOUNDS.north, CITY_BOUNDS.east]))
  map.attributionControl.setPrefix(false)
  return map
}

/**
 * The background tiles (config.ts). A tile server that cannot be reached only leaves the background: devices and the
 * outline are ours. GET /config needs a role, so it is asked once the API has said who we are (before sign-in it
 * would only be refused).
 */
export function addTiles({ map, session }: Pick<App, 'map' | 'session'>): void {
  const add = (c: MapConfig) =>
    c.basemap ? addBasemap(map, c.basemap) : L.tileLayer(c.tileUrl, { attribution: c.tileAttribution, maxZoom: 19, crossOrigin: false }).addTo(map)
  const local = localConfig()
  if (local) return void add(local)
  let asked = false
  session.onChange((me) => {
    if (asked || me.role === null) return
    asked = true
    void loadConfig().then(add)
  })
}

/**
 * The city's basemap file, from the API. Beyond the zoom levels the file holds, Leaflet scales its nearest tiles
 * (maxNativeZoom) rather than leaving a blank screen; outside its bounds nothing is asked for.
 */
function addBasemap(map: L.Map, b: BasemapInfo): L.TileLayer {
  return L.tileLayer(b.url, {
    // Leaflet writes attributions as HTML: the file's text is shown as text
    attribution: escapeHtml(b.attribution),
    minNativeZoom: b.minZoom,
    maxNativeZoom: b.maxZoom,
    maxZoom: MAP_MAX_ZOOM,
    ...(b.bounds ? { bounds: L.latLngBounds([b.bounds[1], b.bounds[0]], [b.bounds[3], b.bounds[2]]) } : {}),
    className: 'basemap-tiles',
  }).addTo(map)
}
