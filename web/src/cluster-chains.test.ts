// @vitest-environment node
import Supercluster from 'supercluster'
import { describe, expect, it } from 'vitest'
import { clusterChains as chains } from './cluster-chains.ts'

/*
 * The incremental cluster counts rely on supercluster's internal arrays; this holds the layer's reading of them
 * to the library's own answer (getLeaves) on a random city, so an upgrade that changes the layout fails here.
 */
describe('cluster chains read from supercluster internals', () => {
  it('name, for every point and zoom, the cluster whose leaves contain it', () => {
        let seed = 3
    const r = () => ((seed = (seed * 16807) % 2147483647) / 2147483647)
    const points = Array.from({ length: 3000 }, (_, i) => ({
      type: 'Feature' as const,
      geometry: { type: 'Point' as const, coordinates: [106.3 + r() * 0.12, 10.32 + r() * 0.08] },
      properties: { id: `d${i}`, i },
    }))
    const sc = new Supercluster<{ id: string; i: number }, { n: number }>({ radius: 60, maxZoom: 17, map: () => ({ n: 1 }), reduce: (a, b) => void (a.n += b.n) })
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
})
