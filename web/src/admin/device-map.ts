import * as L from 'leaflet'
import 'leaflet/dist/leaflet.css'
import { CITY_BOUNDS } from '@mytho/schema/city'
import { loadConfig, type MapConfig } from '../config.ts'
import { dt } from '../i18n/admin-devices.ts'

/** Five decimals: about a metre, finer than any facts-sheet coordinate. */
const round = (x: number): number => Math.round(x * 1e5) / 1e5

/**
 * A small map to place a device: a click (or Enter on the focused map, at its centre) gives lat/lon inside the city
 * box. The dashed box is drawn by us, so it works with no tile server; tiles come as the main map gets them.
 */
export function createPlacementMap(host: HTMLElement, picked: (lat: number, lon: number) => void) {
  const bounds = L.latLngBounds([CITY_BOUNDS.south, CITY_BOUNDS.west], [CITY_BOUNDS.north, CITY_BOUNDS.east])
  const map = L.map(host, { zoomControl: true, zoomSnap: 0.25, minZoom: 11, maxZoom: 18, maxBounds: bounds.pad(0.3), keyboard: true })
  map.fitBounds(bounds)
  map.attributionControl.setPrefix(false)
  L.rectangle(bounds, { color: '#0b4f6c', weight: 2, dashArray: '6 6', fill: false, interactive: false }).addTo(map)
  host.setAttribute('aria-label', dt('mapLabel'))
  let marker: L.CircleMarker | undefined
  let tiles = false

  const put = (ll: L.LatLng) => {
    if (!bounds.contains(ll)) return
    const lat = round(ll.lat)
    const lon = round(ll.lng)
    show(lat, lon)
    picked(lat, lon)
  }
  function show(lat: number, lon: number): void {
    if (marker) marker.setLatLng([lat, lon])
    else marker = L.circleMarker([lat, lon], { radius: 7, color: '#a31515', weight: 3, fillOpacity: 0.6, interactive: false }).addTo(map)
  }
  map.on('click', (e) => put(e.latlng))
  host.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && e.target === host) put(map.getCenter())
  })

  return {
    /** Tiles once an admin is signed in (GET /config needs a role); a dead tile server only leaves the box. */
    addTiles(): void {
      if (tiles) return
      tiles = true
      void loadConfig().then((c: MapConfig) => L.tileLayer(c.tileUrl, { attribution: c.tileAttribution, maxZoom: 19, crossOrigin: false }).addTo(map))
    },
    /** The marker at the form's values, when they are a place in the city. */
    show(lat: number, lon: number): void {
      if (Number.isFinite(lat) && Number.isFinite(lon) && bounds.contains([lat, lon])) show(lat, lon)
    },
    /** Leaflet measures its box when drawn: after the section's layout changes. */
    resize(): void {
      map.invalidateSize()
      if (!marker) map.fitBounds(bounds)
    },
  }
}
