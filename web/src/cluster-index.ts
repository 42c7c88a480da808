import KDBush from 'kdbush'
import Supercluster from 'supercluster'
import { clusterChains } from './cluster-chains.ts'
import type { LiveDeviceState } from './schema.ts'

/*
 * The cluster index of a snapshot built in a worker (cluster-worker.ts) and adopted by the map's layer: the first
 * build of 10,000 devices took ~60–100 ms of the main thread (supercluster's first, unoptimised run), which the
 * worker does while the map's code loads (issue #4). The index crosses as transferable buffers: each zoom level's
 * KD-tree buffer (KDBush.from reads it back) and flat entries, and the cluster counts as rows.
 */

/** Highest zoom at which devices are clustered; above it every device is its own marker. */
export const MAX_ZOOM = 17
/** Cluster radius, px at 512-px tiles (supercluster's extent). */
export const RADIUS = 60

/** Devices per status, c0…c4 indexed like deviceStatuses (scalars: supercluster clones props shallowly). */
export interface ClusterProps {
  c0: number
  c1: number
  c2: number
  c3: number
  c4: number
  /** Devices with an alarming (critical, not cleared) incident: the cluster gets a red outline. */
  c5: number
}

/** A snapshot's index being built in the worker over devices, in their order; undefined: build it yourself. */
export interface PendingIndex {
  devices: readonly LiveDeviceState[]
  packed: Promise<PackedIndex | undefined>
}

interface Level {
  /** The KD-tree's own buffer (KDBush 4's serialised form). */
  kd: ArrayBuffer
  /** supercluster's flat entries of this level (stride 7: x, y, zoom, id, parent, count, props index). */
  data: Float64Array
}

export interface PackedIndex {
  /** Points indexed, in input order. */
  n: number
  /** Zoom 0…MAX_ZOOM + 1. */
  levels: Level[]
  /** clusterProps as rows of c0…c5. */
  props: Int32Array
  /** clusterChains of the index (cluster-chains.ts): the layer moves status counts with it from the first update. */
  chain: Int32Array
}

const PROPS = 6

/**
 * The layer's index of points i = 0…n-1 at (lon[i], lat[i]) with status index status[i], no alarms (c5 = 0);
 * the same options, map and reduce as the layer's own builds.
 */
export function buildPacked(lon: Float64Array, lat: Float64Array, status: Uint8Array): PackedIndex {
  const n = lon.length
  const sc = new Supercluster<{ i: number }, ClusterProps>({
    radius: RADIUS,
    maxZoom: MAX_ZOOM,
    map: (p) => {
      const s = status[p.i]
      return { c0: s === 0 ? 1 : 0, c1: s === 1 ? 1 : 0, c2: s === 2 ? 1 : 0, c3: s === 3 ? 1 : 0, c4: s === 4 ? 1 : 0, c5: 0 }
    },
    reduce: (acc, p) => {
      acc.c0 += p.c0
      acc.c1 += p.c1
      acc.c2 += p.c2
      acc.c3 += p.c3
      acc.c4 += p.c4
      acc.c5 += p.c5
    },
  })
  const points = new Array<Supercluster.PointFeature<{ i: number }>>(n)
  for (let i = 0; i < n; i++) points[i] = { type: 'Feature', geometry: { type: 'Point', coordinates: [lon[i]!, lat[i]!] }, properties: { i } }
  sc.load(points)
  const internals = sc as unknown as { trees: ({ data: number[]; ids: { buffer: ArrayBuffer } } | undefined)[]; clusterProps: ClusterProps[]; stride: number }
  const levels = internals.trees.map((t) => ({ kd: t!.ids.buffer, data: Float64Array.from(t!.data) }))
  const props = new Int32Array(internals.clusterProps.length * PROPS)
  internals.clusterProps.forEach((c, k) => props.set([c.c0, c.c1, c.c2, c.c3, c.c4, c.c5], k * PROPS))
  const chain = clusterChains(internals, n, MAX_ZOOM)
  return { n, levels, props, chain }
}

/** The buffers a PackedIndex is moved with (postMessage's transfer list). */
export const transferables = (p: PackedIndex): ArrayBuffer[] => [...p.levels.flatMap((l) => [l.kd, l.data.buffer as ArrayBuffer]), p.props.buffer as ArrayBuffer, p.chain.buffer as ArrayBuffer]

/** Makes sc the packed index over points (the same points, in the same order, that the worker indexed). */
export function adopt(sc: object, packed: PackedIndex, points: readonly unknown[]): void {
  const internals = sc as unknown as { points: unknown; trees: unknown[]; clusterProps: ClusterProps[] }
  internals.points = points
  internals.trees = packed.levels.map((l) => Object.assign(KDBush.from(l.kd), { data: l.data }))
  const p = packed.props
  const props = new Array<ClusterProps>(p.length / PROPS)
  for (let k = 0; k < props.length; k++) {
    const o = k * PROPS
    props[k] = { c0: p[o]!, c1: p[o + 1]!, c2: p[o + 2]!, c3: p[o + 3]!, c4: p[o + 4]!, c5: p[o + 5]! }
  }
  internals.clusterProps = props
}
