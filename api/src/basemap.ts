import Database from 'better-sqlite3'
import { API_PREFIX } from './openapi.ts'
import { ConfigError } from '@mytho/runtime'
import type { BasemapInfo } from '@mytho/schema'

/** A tile as served: bytes and their media type. */
export interface Tile {
  data: Buffer
  type: string
}

export interface Basemap {
  info: BasemapInfo
  /** The tile at z/x/y (XYZ, as Leaflet asks), or undefined when the file has none there. */
  tile(z: number, x: number, y: number): Tile | undefined
  close(): void
}

const MEDIA: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', webp: 'image/webp' }

/**
 * Opens MAP_BASEMAP_FILE, an MBTiles file (SQLite) of raster tiles, read-only. MBTiles rather than PMTiles: one
 * indexed SQLite read per tile with the driver the platform already runs on, the format QGIS ("Generate XYZ tiles"),
 * GDAL and TileMill write, and raster tiles need no renderer in the browser (Leaflet's own tile layer). Vector tiles
 * are refused with what to do, since the map would have nothing to draw them with.
 */
export function openBasemap(file: string | undefined, attributionOverride: string | undefined): Basemap | undefined {
  if (file === undefined) return undefined
  let db: Database.Database
  try {
    db = new Database(file, { readonly: true, fileMustExist: true })
    db.pragma('query_only = ON')
  } catch (err) {
    throw startError(`cannot open ${file} (${(err as Error).message})`)
  }
  try {
    const meta = readMetadata(db)
    const get = db.prepare<[number, number, number], { tile_data: Buffer }>(
      'SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?',
    )
    const range = db.prepare<[], { lo: number | null; hi: number | null }>('SELECT MIN(zoom_level) AS lo, MAX(zoom_level) AS hi FROM tiles').get()
    if (!range || range.lo === null || range.hi === null) throw startError(`${file} holds no tiles`)
    const format = (meta['format'] ?? sniff(db.prepare<[], { tile_data: Buffer }>('SELECT tile_data FROM tiles LIMIT 1').get()?.tile_data)).toLowerCase()
    if (format === 'pbf' || format === 'mvt')
      throw startError(
        `${file} holds vector tiles (pbf): the map draws raster tiles (PNG, JPEG, WebP); render the area to a raster MBTiles (QGIS: Generate XYZ tiles (MBTiles))`,
      )
    const type = MEDIA[format]
    if (type === undefined) throw startError(`${file}: tile format "${format}" is not PNG, JPEG or WebP`)
    const attribution = attributionOverride ?? plainText(meta['attribution'] ?? '')
    if (attribution.trim() === '')
      throw startError(`${file} names no attribution (metadata "attribution"): set MAP_BASEMAP_ATTRIBUTION to what the data's licence requires`)
    const lo = intOr(meta['minzoom'], range.lo)
    const hi = intOr(meta['maxzoom'], range.hi)
    const bounds = parseBounds(meta['bounds'])
    return {
      info: { url: `${API_PREFIX}/basemap/{z}/{x}/{y}`, attribution, minZoom: lo, maxZoom: hi, ...(bounds ? { bounds } : {}) },
      tile(z, x, y) {
        if (x >= 2 ** z || y >= 2 ** z) return undefined
        // MBTiles rows count from the south (TMS); Leaflet's y from the north.
        const row = get.get(z, x, 2 ** z - 1 - y)
        return row ? { data: row.tile_data, type } : undefined
      },
      close: () => db.close(),
    }
  } catch (err) {
    db.close()
    if (err instanceof ConfigError) throw err
    throw startError(`${file} is not an MBTiles file (${(err as Error).message})`)
  }
}

function readMetadata(db: Database.Database): Record<string, string> {
  const rows = db.prepare<[], { name: string; value: string }>('SELECT name, value FROM metadata').all()
  return Object.fromEntries(rows.map((r) => [r.name, String(r.value)]))
}

function sniff(data: Buffer | undefined): string {
  if (!data) return 'unknown'
  if (data[0] === 0x89 && data.toString('latin1', 1, 4) === 'PNG') return 'png'
  if (data[0] === 0xff && data[1] === 0xd8) return 'jpg'
  if (data.toString('latin1', 0, 4) === 'RIFF' && data.toString('latin1', 8, 12) === 'WEBP') return 'webp'
  return 'pbf'
}

const intOr = (v: string | undefined, fallback: number) => (v !== undefined && /^\d{1,2}$/.test(v.trim()) ? Number(v) : fallback)

function parseBounds(v: string | undefined): [number, number, number, number] | undefined {
  const n = v?.split(',').map(Number)
  if (n?.length !== 4 || n.some((x) => !Number.isFinite(x))) return undefined
  const [w, s, e, north] = n as [number, number, number, number]
  return w < e && s < north && w >= -180 && e <= 180 && s >= -90 && north <= 90 ? [w, s, e, north] : undefined
}

/** MBTiles attributions are HTML; the map shows them as text (a file is not a place for markup in our page). */
const plainText = (html: string) =>
  html
    .replace(/<[^>]*>/g, '')
    .replace(/&copy;/g, '©')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .trim()

const startError = (problem: string) => new ConfigError(`invalid environment:\n  MAP_BASEMAP_FILE: ${problem}`)
