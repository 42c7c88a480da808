import type { BasemapInfo } from '@mytho/schema/overlays'

/**
 * Runtime settings of the map. Order: query parameter (`?tiles=`), `window.__MYTHO_CONFIG__` (a page that
 * embeds the map), GET /api/v1/config (the API, env MAP_TILE_URL), else OpenStreetMap.
 */
export interface MapConfig {
  /** Leaflet tile URL template, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png */
  tileUrl: string
  /** Attribution the tile source requires (plain text). */
  tileAttribution: string
  /** The city's own basemap file served by the API (MAP_BASEMAP_FILE): drawn instead of tileUrl. */
  basemap?: BasemapInfo
}

export const DEFAULT_CONFIG: MapConfig = {
  tileUrl: 'https://tile.openstreetmap.org/{z}/{x}/{y}.png',
  tileAttribution: '© OpenStreetMap contributors',
}

declare global {
  interface Window {
    __MYTHO_CONFIG__?: Partial<MapConfig>
  }
}

const httpUrl = (s: unknown): s is string => typeof s === 'string' && /^https?:\/\//.test(s)

function pick(c: Partial<MapConfig> | undefined): Partial<MapConfig> {
  const out: Partial<MapConfig> = {}
  if (httpUrl(c?.tileUrl)) out.tileUrl = c.tileUrl
  if (typeof c?.tileAttribution === 'string') out.tileAttribution = c.tileAttribution
  if (isBasemap(c?.basemap)) out.basemap = c.basemap
  return out
}

const zoom = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 24
/** Only the API's own tile route: a page that embeds the map cannot point "the local file" elsewhere. */
function isBasemap(b: unknown): b is BasemapInfo {
  const m = b as Partial<BasemapInfo> | undefined
  return (
    typeof m?.url === 'string' &&
    m.url.startsWith('/api/v1/basemap/') &&
    typeof m.attribution === 'string' &&
    zoom(m.minZoom) &&
    zoom(m.maxZoom) &&
    (m.bounds === undefined || (Array.isArray(m.bounds) && m.bounds.length === 4 && m.bounds.every(Number.isFinite)))
  )
}

/** Settings known without a request, or undefined when the API should be asked. */
export function localConfig(): MapConfig | undefined {
  const q = new URLSearchParams(location.search)
  const fromQuery = pick({
    ...(q.has('tiles') ? { tileUrl: q.get('tiles')! } : {}),
    ...(q.has('attribution') ? { tileAttribution: q.get('attribution')! } : {}),
  })
  const fromWindow = pick(window.__MYTHO_CONFIG__)
  if (fromQuery.tileUrl === undefined && fromWindow.tileUrl === undefined) return undefined
  return { ...DEFAULT_CONFIG, tileAttribution: '', ...fromWindow, ...fromQuery }
}

export async function loadConfig(): Promise<MapConfig> {
  const local = localConfig()
  if (local) return local
  try {
    const res = await fetch('/api/v1/config', { headers: { accept: 'application/json' } })
    if (res.ok) return { ...DEFAULT_CONFIG, ...pick((await res.json()) as Partial<MapConfig>) }
  } catch {
    /* no config endpoint: the default */
  }
  return DEFAULT_CONFIG
}
