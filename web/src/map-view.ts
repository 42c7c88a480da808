import * as L from 'leaflet'
import { CITY_BOUNDS } from './schema.ts'
import type { App } from './app.ts'
import { loadConfig, localConfig, type MapConfig } from './config.ts'
import type { LinkState } from './deeplink.ts'
import { LINK_ZOOM, MAP_MAX_ZOOM, MAP_MIN_ZOOM } from './early-view.ts'

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
  const add = (c: MapConfig) => L.tileLayer(c.tileUrl, { attribution: c.tileAttribution, maxZoom: 19, crossOrigin: false }).addTo(map)
  const local = localConfig()
  if (local) return void add(local)
  let asked = false
  session.onChange((me) => {
    if (asked || me.role === null) return
    asked = true
    void loadConfig().then(add)
  })
}
