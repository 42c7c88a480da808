// @vitest-environment node
import Supercluster from 'supercluster'
import { describe, expect, it } from 'vitest'
import { clusterChains, clustersHolding } from './cluster-chains.ts'
import { adopt, buildPacked, MAX_ZOOM, RADIUS, transferables, type ClusterProps } from './cluster-index.ts'

/*
 * The worker's index (buildPacked, moved as buffers, adopted by the layer) must answer exactly as the layer's own
 * build of the same devices: the same clusters, counts, expansion zooms and chains, at every zoom the map shows.
 */
describe('cluster index built in the worker', () => {
  let seed = 11
  const r = () => (seed = (seed * 16807) % 2147483647) / 2147483647
  const n = 4000
  const lon = Float64Array.from({ length: n }, () => 106.3 + r() * 0.12)
  const lat = Float64Array.from({ length: n }, () => 10.32 + r() * 0.08)
  const status = Uint8Array.from({ length: n }, () => Math.floor(r() * 5))
  const points = Array.from({ length: n }, (_, i) => ({ type: 'Feature' as const, geometry: { type: 'Point' as const, coordinates: [lon[i]!, lat[i]!] }, properties: { id: `d${i}` } }))
  /** The layer's own options (cluster-layer.ts), status read per device. */
  const options = () => ({
    radius: RADIUS,
    maxZoom: MAX_ZOOM,
    map: (p: { id: string }): ClusterProps => {
      const s = status[Number(p.id.slice(1))]
      return { c0: s === 0 ? 1 : 0, c1: s === 1 ? 1 : 0, c2: s === 2 ? 1 : 0, c3: s === 3 ? 1 : 0, c4: s === 4 ? 1 : 0, c5: 0 }
    },
    reduce: (a: ClusterProps, b: ClusterProps) => {
      a.c0 += b.c0
      a.c1 += b.c1
      a.c2 += b.c2
      a.c3 += b.c3
      a.c4 += b.c4
      a.c5 += b.c5
    },
  })

  it('answers like the index built on the main thread', () => {
    const own = new Supercluster<{ id: string }, ClusterProps>(options()).load(points)
    const packed = buildPacked(lon, lat, status)
    // as postMessage moves it: every buffer transferred, nothing else shared
    const moved = structuredClone(packed, { transfer: transferables(packed) })
    expect(packed.props.byteLength).toBe(0)
    const adopted = new Supercluster<{ id: string }, ClusterProps>(options())
    adopt(adopted, moved, points)
    for (let z = 10; z <= MAX_ZOOM + 1; z++) {
      const a = own.getClusters([106.2, 10.2, 106.5, 10.5], z)
      const b = adopted.getClusters([106.2, 10.2, 106.5, 10.5], z)
      expect(b).toEqual(a)
      for (const c of a.slice(0, 20)) if ('cluster' in c.properties) expect(adopted.getClusterExpansionZoom(c.properties.cluster_id as number)).toBe(own.getClusterExpansionZoom(c.properties.cluster_id as number))
    }
    expect(moved.chain).toEqual(clusterChains(own as never, n, MAX_ZOOM))
    // the status counts add up to every device at the lowest zoom
    const top = adopted.getClusters([-180, -85, 180, 85], 0)
    const counts = top.map((c) => (c.properties as unknown as ClusterProps & { point_count: number }).point_count ?? 1)
    expect(counts.reduce((s, k) => s + k, 0)).toBe(n)
  })
  it('moves a changed status once in each cluster holding the device: the counts of a fresh build', () => {
    const packed = buildPacked(lon, lat, status)
    const adopted = new Supercluster<{ id: string }, ClusterProps>(options())
    adopt(adopted, packed, points)
    const props = (adopted as unknown as { clusterProps: ClusterProps[] }).clusterProps
    const keys = ['c0', 'c1', 'c2', 'c3', 'c4'] as const
    // a device deep inside clusters carried down over several zooms
    for (const i of [0, 17, 1234, n - 1]) {
      const to = (status[i]! + 2) % 5
      const [f, t] = [keys[status[i]!]!, keys[to]!]
      for (const p of clustersHolding(packed.chain, i, MAX_ZOOM)) {
        props[p]![f]--
        props[p]![t]++
      }
      status[i] = to
    }
    const fresh = new Supercluster<{ id: string }, ClusterProps>(options()).load(points)
    for (let z = 0; z <= MAX_ZOOM; z++) expect(adopted.getClusters([106.2, 10.2, 106.5, 10.5], z)).toEqual(fresh.getClusters([106.2, 10.2, 106.5, 10.5], z))
  })
})
