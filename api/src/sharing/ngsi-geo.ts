import { QueryError } from './ngsi-q.ts'

/*
 * NGSI-LD geo-queries (CIM 009 §4.10) on our devices' points: `near;maxDistance==M` / `near;minDistance==M` around a
 * Point (metres, great-circle), and `within` / `intersects` a Polygon (a box is a 5-point polygon; a ward's outline
 * too). Coordinates are GeoJSON's [lon, lat]. A bad query is a QueryError naming the parameter.
 */

export type GeoFilter = (lon: number, lat: number) => boolean

const EARTH_RADIUS_M = 6_371_008.8

/** Great-circle distance in metres (haversine; at city scale the error is far below a gauge's placement). */
export function distanceM(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const rad = Math.PI / 180
  const dLat = (lat2 - lat1) * rad
  const dLon = (lon2 - lon1) * rad
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)))
}

/** Even-odd rule over the rings (the first the outline, the others holes). */
function insidePolygon(rings: number[][][], lon: number, lat: number): boolean {
  let inside = false
  for (const ring of rings)
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i] as [number, number]
      const [xj, yj] = ring[j] as [number, number]
      if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside
    }
  return inside
}

const isPosition = (p: unknown): p is [number, number] => Array.isArray(p) && p.length >= 2 && p.every((x) => typeof x === 'number' && Number.isFinite(x))

export function parseGeoQuery(georel: string, geometry: string | undefined, coordinates: string | undefined): GeoFilter {
  if (geometry === undefined) throw new QueryError('geometry: required with georel')
  if (coordinates === undefined) throw new QueryError('coordinates: required with georel')
  let coords: unknown
  try {
    coords = JSON.parse(coordinates)
  } catch {
    throw new QueryError('coordinates: not JSON (GeoJSON coordinates, e.g. [106.36,10.35])')
  }
  const [rel, ...mods] = georel.split(';')
  if (rel === 'near') {
    if (geometry !== 'Point' || !isPosition(coords)) throw new QueryError('coordinates: near takes geometry=Point and [lon,lat]')
    const [lon0, lat0] = coords
    const m = /^(maxDistance|minDistance)==(\d+(?:\.\d+)?)$/.exec(mods[0] ?? '')
    if (!m || mods.length !== 1) throw new QueryError('georel: near takes one of ;maxDistance==METRES or ;minDistance==METRES')
    const d = Number(m[2])
    return m[1] === 'maxDistance' ? (lon, lat) => distanceM(lon0, lat0, lon, lat) <= d : (lon, lat) => distanceM(lon0, lat0, lon, lat) >= d
  }
  if (rel === 'within' || rel === 'intersects') {
    if (mods.length > 0) throw new QueryError(`georel: ${rel} takes no modifier`)
    const rings = coords as unknown[]
    if (geometry !== 'Polygon' || !Array.isArray(rings) || rings.length === 0 || !rings.every((r) => Array.isArray(r) && r.length >= 4 && r.every(isPosition)))
      throw new QueryError(`coordinates: ${rel} takes geometry=Polygon and [[[lon,lat],…]] with closed rings of at least 4 positions`)
    return (lon, lat) => insidePolygon(rings as number[][][], lon, lat)
  }
  throw new QueryError(`georel: ${rel} is not supported (near, within, intersects)`)
}
