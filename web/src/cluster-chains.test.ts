// @vitest-environment node
import Supercluster from 'supercluster'
import { describe, expect, it } from 'vitest'
import { clusterChains as chains, clustersHolding } from './cluster-chains.ts'

/*
 * The incremental cluster counts rely on supercluster's internal arrays; this holds the layer's reading of them
 * to the library's own answer (getLeaves) on a random city, so an upgrade that changes the layout fails here.
 */
describe('cluster chains read from supercluster internals', () => {
  it('name, for every point and zoom, the cluster whose leaves contain it', () => {
    let seed = 3
    const r = () => (seed = (seed * 16807) % 2147483647) / 2147483647
    const points = Array.from({ length: 3000 }, (_, i) => ({
      type: 'Feature' as const,
      geometry: { type: 'Point' as const, coordinates: [106.3 + r() * 0.12, 10.32 + r() * 0.08] },
      properties: { id: `d${i}`, i },
    }))
    const sc = new Supercluster<{ id: string; i: number }, { n: number }>({
      radius: 60,
      maxZoom: 17,
      map: () => ({ n: 1 }),
      reduce: (a, b) => void (a.n += b.n),
    })
    sc.load(points)
    const chain = chains(sc as never, points.length, 17)
    const internals = sc as unknown as { clusterProps: { n: number }[] }
    for (const z of [0, 8, 12, 14, 16, 17]) {
      for (const c of sc.getClusters([-180, -85, 180, 85], z)) {
        if (!('cluster' in c.properties)) {
          expect(chain[c.properties.i * 18 + z]).toBe(-1)
          continue
        }
        const leaves = sc.getLeaves(c.properties.cluster_id, Infinity)
        const props = new Set(leaves.map((l) => chain[l.properties.i * 18 + z]))
        expect(props.size).toBe(1)
        expect(internals.clusterProps[[...props][0]!]!.n).toBe(leaves.length)
      }
    }
  })
  it('name each cluster holding a point once, so a status moved through them gives the counts of a fresh build', () => {
    let seed = 11
    const r = () => (seed = (seed * 16807) % 2147483647) / 2147483647
    const status = Array.from({ length: 4000 }, () => Math.floor(r() * 5))
    const points = status.map((_, i) => ({
      type: 'Feature' as const,
      geometry: { type: 'Point' as const, coordinates: [106.3 + r() * 0.12, 10.32 + r() * 0.08] },
      properties: { i },
    }))
    type Counts = { c: number[] }
    const build = () =>
      new Supercluster<{ i: number }, Counts>({
        radius: 60,
        maxZoom: 17,
        map: (p) => ({ c: [0, 1, 2, 3, 4].map((k) => (status[p.i] === k ? 1 : 0)) }),
        reduce: (a, b) => void (a.c = a.c.map((v, k) => v + b.c[k]!)),
      }).load(points)
    const sc = build()
    const chain = chains(sc as never, points.length, 17)
    const props = (sc as unknown as { clusterProps: Counts[] }).clusterProps
    // devices deep inside clusters carried down unchanged over several zooms (they share one props object)
    for (const i of [0, 17, 1234, 3999]) {
      const to = (status[i]! + 2) % 5
      for (const p of clustersHolding(chain, i, 17)) {
        props[p]!.c[status[i]!]!--
        props[p]!.c[to]!++
      }
      status[i] = to
    }
    const fresh = build()
    for (let z = 0; z <= 17; z++) expect(sc.getClusters([106.2, 10.2, 106.5, 10.5], z)).toEqual(fresh.getClusters([106.2, 10.2, 106.5, 10.5], z))
  })
})
