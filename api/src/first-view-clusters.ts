import Supercluster from 'supercluster'
import { deviceKinds, deviceStatuses, type BBox, type DeviceStatus, type LiveDeviceState } from '@mytho/schema'
import { CLUSTER_OPTIONS, worstOf, type FirstViewClusters, type StatusCountProps } from '@mytho/schema/first-view'

/*
 * The first view's clusters, computed here so the map's first draw does not wait for its own index (issue #4).
 *
 * One supercluster index of every device. A build is not done on the answer's path: measured in this process,
 * 13–16 ms at 10,000 devices and 61–80 ms at 50,000 once warm, 65–380 ms for the first (cold, on a loaded machine),
 * and the answer is the first render's critical path. It is built once at start (warm()) and again in the
 * background while the state changes, at most every max(minRebuildMs, 10 × the last build's cost), so at most ~10 %
 * of this event loop, and only while browsers have asked in the last keepFreshMs (a city changes all day; with
 * nobody opening the map, nothing is rebuilt).
 *
 * An answer shows every device under its status as of the answer, not as of the build: the ids changed since the
 * build are kept, and each whose status differs from the one it was indexed with moves one count, in the row
 * holding it at the asked zoom, from its indexed status to its current one (3–9 ms at 10,000 devices with a tenth
 * of them changed, 13–27 ms at 50,000; the rows holding each device are kept per zoom until the next build).
 * Positions are the index's: a device that moved or joined since the build cannot be placed by a correction, so
 * that answer builds first (rare: positions come from the registry). The snapshot sent after the answer is read in
 * the same tick, so both show the same state.
 */

/** What the index is built from: LiveState, or a benchmark's fleet. */
export interface FirstViewSource {
  all(): readonly LiveDeviceState[]
  get(deviceId: string): LiveDeviceState | undefined
  onChange(listener: (deviceIds: Iterable<string>) => void): () => void
}

export interface FirstViewOptions {
  /** Least time between two background builds, ms (corrections fill the gap). Default 250. */
  minRebuildMs?: number
  /** How long after the last answer the index is still rebuilt as the state changes, ms. Default 60,000. */
  keepFreshMs?: number
  /** Monotonic ms; default performance.now. */
  clock?: () => number
}

interface PointProps {
  /** Status index when indexed (deviceStatuses order). */
  s: number
  /** Row in the build (the device's position in source.all() then). */
  i: number
}
type ClusterProps = StatusCountProps
/** supercluster 8's flat level arrays (src: index.js), read to find the row holding a changed device. */
interface Internals {
  trees: ({ data: ArrayLike<number> } | undefined)[]
  stride: number
}
const OFFSET_ID = 3
const OFFSET_PARENT = 4
const statusIndexOf = Object.fromEntries(deviceStatuses.map((s, i) => [s, i])) as Record<DeviceStatus, number>
const kindIndexOf = Object.fromEntries(deviceKinds.map((k, i) => [k, i])) as Record<LiveDeviceState['kind'], number>

export function createFirstViewIndex(source: FirstViewSource, options: FirstViewOptions = {}) {
  const minRebuildMs = options.minRebuildMs ?? 250
  const keepFreshMs = options.keepFreshMs ?? 60_000
  const clock = options.clock ?? (() => performance.now())
  const stats = { builds: 0, buildsOnAnswer: 0, lastBuildMs: 0, maxBuildMs: 0, answers: 0, corrected: 0, lastAnswerMs: 0, maxAnswerMs: 0 }
  let index: Supercluster<PointProps, ClusterProps> | undefined
  let indexed: readonly LiveDeviceState[] = []
  let rowOf = new Map<string, number>()
  let builtAt = -Infinity
  /** Changed since the last build (at most every device: a set). */
  let dirty = new Set<string>()
  /** Per zoom, for this build: the entry holding each indexed device. */
  let holderCache = new Map<number, Int32Array>()
  let askedAt = -Infinity
  let timer: ReturnType<typeof setTimeout> | undefined
  let stopped = false
  const schedule = () => {
    if (timer || stopped || !index || dirty.size === 0 || clock() - askedAt > keepFreshMs) return
    const wait = Math.max(minRebuildMs, 10 * stats.lastBuildMs) - (clock() - builtAt)
    timer = setTimeout(
      () => {
        timer = undefined
        if (dirty.size > 0 && clock() - askedAt <= keepFreshMs) build()
      },
      Math.max(0, wait),
    )
    timer.unref?.()
  }
  const unsubscribe = source.onChange((ids) => {
    for (const id of ids) dirty.add(id)
    schedule()
  })

  const build = () => {
    const t0 = performance.now()
    const devices = source.all()
    const points = new Array<Supercluster.PointFeature<PointProps>>(devices.length)
    rowOf = new Map()
    for (let i = 0; i < devices.length; i++) {
      const d = devices[i]!
      points[i] = { type: 'Feature', geometry: { type: 'Point', coordinates: [d.lon, d.lat] }, properties: { s: statusIndexOf[d.status], i } }
      rowOf.set(d.deviceId, i)
    }
    // the map's own index (web/src/cluster-layer.ts): same options, same map and reduce, points in the same order
    index = new Supercluster<PointProps, ClusterProps>({
      ...CLUSTER_OPTIONS,
      map: (p) => ({ c0: p.s === 0 ? 1 : 0, c1: p.s === 1 ? 1 : 0, c2: p.s === 2 ? 1 : 0, c3: p.s === 3 ? 1 : 0, c4: p.s === 4 ? 1 : 0 }),
      reduce: (acc, p) => {
        acc.c0 += p.c0
        acc.c1 += p.c1
        acc.c2 += p.c2
        acc.c3 += p.c3
        acc.c4 += p.c4
      },
    }).load(points)
    indexed = devices.slice()
    dirty = new Set()
    holderCache = new Map()
    builtAt = clock()
    const ms = performance.now() - t0
    stats.builds++
    stats.lastBuildMs = ms
    stats.maxBuildMs = Math.max(stats.maxBuildMs, ms)
  }

  /** The changed devices an answer must correct, or undefined when one of them cannot be corrected (moved, new). */
  const statusChanges = (): { row: number; from: number; to: number }[] | undefined => {
    const out: { row: number; from: number; to: number }[] = []
    for (const id of dirty) {
      const now = source.get(id)
      const row = rowOf.get(id)
      // gone from the registry (disabled) since the build: its rows still count it, so build again
      if (!now) {
        if (row !== undefined) return undefined
        continue
      }
      if (row === undefined) return undefined
      const was = indexed[row]!
      if (was.lat !== now.lat || was.lon !== now.lon) return undefined
      const from = statusIndexOf[was.status]
      const to = statusIndexOf[now.status]
      if (from !== to) out.push({ row, from, to })
    }
    return out
  }

  /** For each indexed device, the id of the entry holding it at zoom z (its own row id when unclustered). */
  const holders = (sc: Supercluster<PointProps, ClusterProps>, z: number): Int32Array => {
    const known = holderCache.get(z)
    if (known) return known
    const { trees, stride } = sc as unknown as Internals
    const n = indexed.length
    const cur = new Int32Array(n)
    for (let i = 0; i < n; i++) cur[i] = i
    for (let level = CLUSTER_OPTIONS.maxZoom; level >= z; level--) {
      const upper = trees[level + 1]!.data
      const parentOf = new Map<number, number>()
      for (let k = 0; k < upper.length; k += stride) if (upper[k + OFFSET_PARENT]! !== -1) parentOf.set(upper[k + OFFSET_ID]!, upper[k + OFFSET_PARENT]!)
      for (let i = 0; i < n; i++) cur[i] = parentOf.get(cur[i]!) ?? cur[i]!
    }
    holderCache.set(z, cur)
    return cur
  }

  return {
    stats,
    /** Builds the index now, so the first answer finds one (the API's start). */
    warm(): void {
      if (!index) build()
    },
    /**
     * Clusters and single devices whose position lies in bbox at zoom (rounded, as the map draws), every device
     * under its status as of now.
     */
    clusters(bbox: BBox, zoom: number): FirstViewClusters {
      const t0 = performance.now()
      askedAt = clock()
      const z = Math.max(CLUSTER_OPTIONS.minZoom, Math.min(CLUSTER_OPTIONS.maxZoom + 1, Math.round(zoom)))
      let changes = index && statusChanges()
      if (!index || !changes) {
        build()
        stats.buildsOnAnswer++
        changes = []
      }
      const sc = index!
      const features = sc.getClusters(bbox, z)
      const out: FirstViewClusters = { zoom: z, bbox, lon: [], lat: [], id: [], kind: [], counts: [], worst: [] }
      /** Entry id (cluster id, or a device's row) → output row. */
      const rowOfEntry = new Map<number, number>()
      features.forEach((f, r) => {
        const [lon, lat] = f.geometry.coordinates as [number, number]
        out.lon.push(lon)
        out.lat.push(lat)
        const p = f.properties as Partial<Supercluster.ClusterProperties> & Partial<ClusterProps> & Partial<PointProps>
        if (p.cluster) {
          out.id.push(null)
          out.kind.push(-1)
          out.counts.push(p.c0!, p.c1!, p.c2!, p.c3!, p.c4!)
          rowOfEntry.set(p.cluster_id!, r)
        } else {
          const row = p.i!
          out.id.push(indexed[row]!.deviceId)
          // a device's kind does not change (the registry's); its status is corrected below like a cluster's counts
          out.kind.push(kindIndexOf[indexed[row]!.kind])
          out.counts.push(p.s === 0 ? 1 : 0, p.s === 1 ? 1 : 0, p.s === 2 ? 1 : 0, p.s === 3 ? 1 : 0, p.s === 4 ? 1 : 0)
          rowOfEntry.set(row, r)
        }
      })
      if (changes.length > 0) {
        const held = holders(sc, z)
        for (const c of changes) {
          const r = rowOfEntry.get(held[c.row]!)
          if (r === undefined) continue // outside the box
          out.counts[5 * r + c.from]!--
          out.counts[5 * r + c.to]!++
          stats.corrected++
        }
      }
      for (let r = 0; r < out.id.length; r++) out.worst.push(worstOf(out.counts, 5 * r))
      stats.answers++
      stats.lastAnswerMs = performance.now() - t0
      stats.maxAnswerMs = Math.max(stats.maxAnswerMs, stats.lastAnswerMs)
      // browsers are opening the map: keep the index close to the state, so corrections stay few
      schedule()
      return out
    },
    stop(): void {
      stopped = true
      clearTimeout(timer)
      unsubscribe()
    },
  }
}
export type FirstViewIndex = ReturnType<typeof createFirstViewIndex>
