import { CITY_BOUNDS } from '@mytho/schema/city'
import type { ViewSubscription } from './schema.ts'
import { parsePosition } from './link-position.ts'

/** The map's zoom range, and a deep link's zoom when it gives a position without one (map-view.ts builds the map with these). */
export const MAP_MIN_ZOOM = 10
export const MAP_MAX_ZOOM = 19
export const LINK_ZOOM = 14
/** Leaflet's default CRS: Web Mercator, 256-px tiles. */
const TILE = 256
const MAX_LAT = 85.0511287798

/** Web Mercator in world units (0…1 at every zoom), as supercluster and Leaflet project. */
const toX = (lon: number): number => lon / 360 + 0.5
const toY = (lat: number): number => {
  const s = Math.sin((Math.max(-MAX_LAT, Math.min(MAX_LAT, lat)) * Math.PI) / 180)
  return 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)
}
const toLon = (x: number): number => (x - 0.5) * 360
const toLat = (y: number): number => (Math.atan(Math.exp((0.5 - y) * 2 * Math.PI)) * 360) / Math.PI - 90
const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v))

/**
 * The view the map is about to subscribe, known before Leaflet is loaded (boot.ts sends it in the handshake): the
 * link's position at its zoom, or the city's box as fitBounds frames it, padded by one view on every side like the
 * map's own subscription (live-view.ts currentView). Undefined when the link filters kinds or wards (deeplink.ts checks
 * those against the schema) or the map has no size yet. live-view.ts asks again for a view this one does not cover.
 */
export function estimateView(hash: string, width: number, height: number): ViewSubscription | undefined {
  const p = new URLSearchParams(hash.replace(/^#/, ''))
  if (p.has('k') || p.has('w') || !(width > 0 && height > 0)) return undefined
  const at = parsePosition(p)
  let { west, south, east, north }: { west: number; south: number; east: number; north: number } = CITY_BOUNDS
  let zoom: number
  if (at.lat !== undefined && at.lon !== undefined) {
    // setView: the zoom rounded and kept in range; the view is the map's size around the centre
    zoom = clamp(Math.round(at.zoom ?? LINK_ZOOM), MAP_MIN_ZOOM, MAP_MAX_ZOOM)
    const scale = TILE * 2 ** zoom
    const x = toX(at.lon)
    const y = toY(at.lat)
    west = toLon(x - width / 2 / scale)
    east = toLon(x + width / 2 / scale)
    north = toLat(y - height / 2 / scale)
    south = toLat(y + height / 2 / scale)
  } else {
    // fitBounds: the highest whole zoom showing the whole box, so the view is at most twice the box either way
    // and padding the box by itself covers it
    const fit = Math.min(width / ((toX(east) - toX(west)) * TILE), height / ((toY(south) - toY(north)) * TILE))
    zoom = clamp(Math.floor(Math.log2(fit)), MAP_MIN_ZOOM, MAP_MAX_ZOOM)
  }
  const dx = east - west
  const dy = north - south
  return { bbox: [clamp(west - dx, -180, 180), clamp(south - dy, -90, 90), clamp(east + dx, -180, 180), clamp(north + dy, -90, 90)], zoom }
}
