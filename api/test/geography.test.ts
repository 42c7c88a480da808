import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadRegistryFile, type MapConfigResponse, type OverlayListResponse } from '@mytho/schema'
import { silentLogger } from '@mytho/runtime'
import { createSqliteStore, type ReadingStore } from '@mytho/storage'
import { makeTempDir, pngTile, writeMbtiles } from '@mytho/testing'
import { createApi, type Api, type ApiOptions } from '../src/api.ts'

/** Issue #21: the city's overlays (MAP_OVERLAYS_DIR) checked at start and served; its basemap file (MAP_BASEMAP_FILE) served as tiles. */

const tmp = makeTempDir('mytho-api-geography-')
let n = 0
const freshDir = () => {
  const d = join(tmp.path, `case-${n++}`)
  mkdirSync(d)
  return d
}
const ring = (w: number, s: number, e: number, north: number) => [
  [w, s],
  [e, s],
  [e, north],
  [w, north],
  [w, s],
]
const wards = {
  type: 'FeatureCollection',
  name: 'wards', // QGIS writes these foreign members
  crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:OGC:1.3:CRS84' } },
  features: [
    { type: 'Feature', properties: { name: 'Phường Thử A' }, geometry: { type: 'Polygon', coordinates: [ring(106.3, 10.33, 106.35, 10.37)] } },
    { type: 'Feature', properties: { name: 'Phường Thử B' }, geometry: { type: 'Polygon', coordinates: [ring(106.35, 10.33, 106.4, 10.37)] } },
  ],
}
const wardsLayer = {
  name: { vi: 'Ranh giới phường (thử)', en: 'Ward boundaries (test)' },
  group: 'boundaries',
  style: { color: '#7a3b8f', weight: 2, dash: '6 4' },
  labelProperty: 'name',
  source: 'made in this test',
  licence: 'CC0',
  attribution: 'Test wards',
}
const canal = {
  type: 'FeatureCollection',
  features: [
    {
      type: 'Feature',
      properties: { name: 'Kênh thử' },
      geometry: {
        type: 'LineString',
        coordinates: [
          [106.33, 10.35],
          [106.38, 10.36],
        ],
      },
    },
  ],
}
const canalLayer = {
  name: { vi: 'Kênh', en: 'Canals' },
  group: 'water',
  defaultOn: false,
  order: 5,
  source: 'made in this test',
  licence: 'CC0',
  attribution: 'Test canals',
}

/** As a browser revalidates its copy (fetch alone would add Cache-Control: no-cache to a conditional request, which a server must answer in full). */
const revalidate = (etag: string) => ({ 'if-none-match': etag, 'cache-control': 'max-age=0' })

function writeOverlay(dir: string, id: string, geojson: unknown, layer: unknown) {
  writeFileSync(join(dir, `${id}.geojson`), JSON.stringify(geojson))
  if (layer !== undefined) writeFileSync(join(dir, `${id}.layer.json`), JSON.stringify(layer))
}

describe('map geography from the city’s files', () => {
  let store: ReadingStore
  const apis: Api[] = []
  const start = async (o: Partial<ApiOptions>) => {
    const api = createApi({ HTTP_PORT: 0, HTTP_HOST: '127.0.0.1', ...o }, { store, registry: loadRegistryFile(), logger: silentLogger })
    apis.push(api)
    return `http://127.0.0.1:${(await api.start()).port}/api/v1`
  }
  const startFails = (o: Partial<ApiOptions>) => {
    try {
      createApi({ HTTP_PORT: 0, HTTP_HOST: '127.0.0.1', ...o }, { store, registry: loadRegistryFile(), logger: silentLogger })
    } catch (err) {
      return (err as Error).message
    }
    throw new Error('the API started')
  }

  beforeAll(() => {
    store = createSqliteStore({ path: join(tmp.path, 'readings.sqlite') })
  })
  afterAll(async () => {
    for (const a of apis) await a.stop()
    await store?.close()
    tmp.cleanup()
  })

  it('serves every overlay of a good folder, in order, each GeoJSON with an ETag that answers 304', async () => {
    const dir = freshDir()
    writeOverlay(dir, 'wards', wards, wardsLayer)
    writeOverlay(dir, 'canals', canal, canalLayer)
    writeFileSync(join(dir, 'README.txt'), 'not an overlay: ignored')
    const base = await start({ MAP_OVERLAYS_DIR: dir })
    const list = (await (await fetch(`${base}/overlays`)).json()) as OverlayListResponse
    expect(list.overlays.map((o) => o.id)).toEqual(['canals', 'wards'])
    const w = list.overlays[1]!
    expect(w).toMatchObject({ url: '/api/v1/overlays/wards', features: 2, defaultOn: true, labelProperty: 'name', attribution: 'Test wards', licence: 'CC0' })
    expect(w.style).toMatchObject({ color: '#7a3b8f', dash: '6 4', fill: false })
    expect(list.overlays[0]!.defaultOn).toBe(false)

    const res = await fetch(`${base}/overlays/wards`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/geo\+json/)
    const etag = res.headers.get('etag')
    expect(etag).toMatch(/^"/)
    const body = (await res.json()) as { features: { properties: { name: string } }[] }
    expect(body.features.map((f) => f.properties.name)).toEqual(['Phường Thử A', 'Phường Thử B'])
    const again = await fetch(`${base}/overlays/wards`, { headers: revalidate(etag!) })
    expect(again.status).toBe(304)

    expect((await fetch(`${base}/overlays/rivers`)).status).toBe(404)
    const bad = await fetch(`${base}/overlays/Bad_Id`)
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: string }).error).toMatch(/id/)
  })

  it('refuses to start on a bad file, naming the variable, the file and the feature', () => {
    const dir = freshDir()
    writeOverlay(dir, 'wards', wards, wardsLayer)
    const open = structuredClone(wards)
    open.features[1]!.geometry.coordinates[0]!.pop() // the ring no longer ends where it starts
    writeOverlay(dir, 'flood-zones', open, { ...wardsLayer, group: 'hazards' })
    const msg = startFails({ MAP_OVERLAYS_DIR: dir })
    expect(msg).toMatch(
      /MAP_OVERLAYS_DIR: flood-zones\.geojson: feature 1 \("Phường Thử B"\): geometry\.coordinates\.0: a polygon ring must end where it starts/,
    )
    expect(msg).not.toMatch(/wards\.geojson/)
  })

  it('names an unknown style key, a missing sidecar, projected coordinates and an absent label property', () => {
    const dir = freshDir()
    writeOverlay(dir, 'roads', canal, { ...canalLayer, style: { colour: '#ff0000' } })
    writeOverlay(dir, 'rivers', canal, undefined)
    const projected = structuredClone(canal)
    projected.features[0]!.geometry.coordinates[0] = [588_000, 1_142_000] // VN-2000 metres
    writeOverlay(dir, 'canals', projected, canalLayer)
    writeOverlay(dir, 'zones', canal, { ...canalLayer, labelProperty: 'ten' })
    const msg = startFails({ MAP_OVERLAYS_DIR: dir })
    expect(msg).toMatch(/MAP_OVERLAYS_DIR: roads\.geojson: roads\.layer\.json: style: .*colour/)
    expect(msg).toMatch(/MAP_OVERLAYS_DIR: rivers\.geojson: needs rivers\.layer\.json beside it/)
    expect(msg).toMatch(/MAP_OVERLAYS_DIR: canals\.geojson: feature 0 \("Kênh thử"\): geometry\.coordinates\.0\.0: longitude is not WGS 84/)
    expect(msg).toMatch(/MAP_OVERLAYS_DIR: zones\.geojson: labelProperty "ten" is in no feature as text \(properties seen: name\)/)
  })

  it('refuses a file over the size limit and a folder that is not there', () => {
    const dir = freshDir()
    writeFileSync(join(dir, 'big.geojson'), `{"type":"FeatureCollection","features":[]}${' '.repeat(20_000_001)}`)
    writeFileSync(join(dir, 'big.layer.json'), JSON.stringify(canalLayer))
    expect(startFails({ MAP_OVERLAYS_DIR: dir })).toMatch(/MAP_OVERLAYS_DIR: big\.geojson: \d+ bytes: at most 20000000/)
    expect(startFails({ MAP_OVERLAYS_DIR: join(dir, 'nowhere') })).toMatch(/MAP_OVERLAYS_DIR: .*nowhere is not a readable directory \(ENOENT\)/)
  })

  it('without a folder or a basemap file: no overlay, no basemap, the online tiles as configured', async () => {
    const base = await start({})
    expect(await (await fetch(`${base}/overlays`)).json()).toEqual({ overlays: [] })
    const config = (await (await fetch(`${base}/config`)).json()) as MapConfigResponse
    expect(config.basemap).toBeUndefined()
    expect(config.tileUrl).toBe('https://tile.openstreetmap.org/{z}/{x}/{y}.png')
    expect((await fetch(`${base}/basemap/12/3262/1904`)).status).toBe(404)
  })

  it('serves the basemap file’s tiles with caching headers and announces it in /config', async () => {
    const file = join(freshDir(), 'city.mbtiles')
    const red = pngTile([200, 40, 40])
    writeMbtiles(file, [{ z: 12, x: 3259, y: 1907, data: red }], {
      name: 'test',
      format: 'png',
      minzoom: '12',
      maxzoom: '12',
      bounds: '106.28,10.30,106.44,10.42',
      attribution: '<a href="https://www.openstreetmap.org/copyright">&copy; OpenStreetMap contributors</a>',
    })
    const base = await start({ MAP_BASEMAP_FILE: file })
    const config = (await (await fetch(`${base}/config`)).json()) as MapConfigResponse
    expect(config.basemap).toEqual({
      url: '/api/v1/basemap/{z}/{x}/{y}',
      attribution: '© OpenStreetMap contributors',
      minZoom: 12,
      maxZoom: 12,
      bounds: [106.28, 10.3, 106.44, 10.42],
    })
    const res = await fetch(`${base}/basemap/12/3259/1907`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('image/png')
    expect(res.headers.get('cache-control')).toBe('private, max-age=86400')
    expect(Buffer.from(await res.arrayBuffer()).equals(red)).toBe(true)
    const again = await fetch(`${base}/basemap/12/3259/1907`, { headers: revalidate(res.headers.get('etag')!) })
    expect(again.status).toBe(304)
    expect((await fetch(`${base}/basemap/12/3259/1908`)).status).toBe(404)
    const bad = await fetch(`${base}/basemap/99/0/0`)
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: string }).error).toMatch(/\bz\b/)
  })

  it('counts tiles apart from the API’s request limit: past it tiles still load while other requests get 429; tiles have a limit of their own', async () => {
    const file = join(freshDir(), 'city.mbtiles')
    const green = pngTile([40, 200, 40])
    writeMbtiles(file, [{ z: 12, x: 3259, y: 1907, data: green }], { format: 'png', minzoom: '12', maxzoom: '12', attribution: 'Test tiles' })
    const base = await start({ MAP_BASEMAP_FILE: file, API_RATE_LIMIT_PER_MIN: 3, TILE_RATE_LIMIT_PER_MIN: 8 })
    const statuses = async (url: string, n: number) => {
      const out: number[] = []
      for (let i = 0; i < n; i++) out.push((await fetch(url)).status)
      return out
    }
    // one address (the wall screens behind a NAT): the API's 3 a minute spent
    expect(await statuses(`${base}/overlays`, 4)).toEqual([200, 200, 200, 429])
    // its tiles still load, up to their own limit
    expect(await statuses(`${base}/basemap/12/3259/1907`, 8)).toEqual(Array(8).fill(200))
    const over = await fetch(`${base}/basemap/12/3259/1907`)
    expect(over.status).toBe(429)
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(((await over.json()) as { error: string }).error).toMatch(/tile/)
    // the API's own limit is still spent: tiles are counted apart
    expect((await fetch(`${base}/overlays`)).status).toBe(429)
  })

  it('refuses a vector, an unattributed or a missing basemap file, saying what to do', () => {
    const dir = freshDir()
    const vector = join(dir, 'vector.mbtiles')
    writeMbtiles(vector, [{ z: 0, x: 0, y: 0, data: Buffer.from([0x1a, 0x00]) }], { format: 'pbf', attribution: 'x' })
    expect(startFails({ MAP_BASEMAP_FILE: vector })).toMatch(/MAP_BASEMAP_FILE: .*vector tiles \(pbf\)/)
    const bare = join(dir, 'bare.mbtiles')
    writeMbtiles(bare, [{ z: 0, x: 0, y: 0, data: pngTile([1, 2, 3], 8) }], {})
    expect(startFails({ MAP_BASEMAP_FILE: bare })).toMatch(/MAP_BASEMAP_FILE: .*names no attribution.*MAP_BASEMAP_ATTRIBUTION/)
    expect(startFails({ MAP_BASEMAP_FILE: join(dir, 'absent.mbtiles') })).toMatch(/MAP_BASEMAP_FILE: cannot open/)
  })
})
