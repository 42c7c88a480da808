import type { BBox } from './live-state.ts'

/*
 * The first view's clusters, computed by the API (issue #4). Building the map's supercluster index took 70–100 ms
 * of the browser's main thread before its first draw at 10,000 devices; the API keeps an index of every device and
 * sends, as its own small event (`firstView`, a few kB) just before the first snapshot, what that view shows at its
 * zoom: the ~0.45 MB columnar snapshot reached the page 20–130 ms after it (measured at 10,000 devices). The map
 * draws these as they come and builds its own index from the snapshot's columns after the next paint.
 *
 * No zod here (type imports only): the map's first load imports this module.
 */

/**
 * supercluster's options, one home for the map and the API: the server's clusters must be the ones the map computes.
 * radius: pixels of an `extent`-pixel tile (supercluster's default extent, 512: on the map's 256-px tiles a cluster
 * spans ~30 CSS px); maxZoom: above it every device is its own marker.
 */
export const CLUSTER_OPTIONS = { radius: 60, extent: 512, minZoom: 0, maxZoom: 17, nodeSize: 64 } as const

/** Devices per status in a cluster's supercluster props, c0…c4 indexed like deviceStatuses (scalars: supercluster clones props shallowly). Server and map cluster alike. */
export interface StatusCountProps {
  c0: number
  c1: number
  c2: number
  c3: number
  c4: number
}

/**
 * What a view shows at one zoom: clusters and single devices, one row each, in parallel arrays. A single device has
 * its id and a count of 1 under its status; a cluster has id null. Positions are the index's (a cluster's centre is
 * the mean of its devices, as supercluster computes it), so they equal the map's own clusters'.
 */
export interface FirstViewClusters {
  /** The zoom these are for (a whole number); the map draws them only at this zoom. */
  zoom: number
  /** The box asked for (the handshake view's); rows are everything whose position lies in it. */
  bbox: BBox
  lon: number[]
  lat: number[]
  /** Device id of a single device, null for a cluster. */
  id: (string | null)[]
  /** Index in deviceKinds of a single device's kind (its icon: the map draws these before it has the snapshot); -1 for a cluster. */
  kind: number[]
  /** Devices per status, 5 per row (deviceStatuses order). */
  counts: number[]
  /** Index in deviceStatuses of each row's worst status (severityOrder: alarm, warning, offline, never_seen, ok). */
  worst: number[]
}

/** Worst first: a cluster takes the colour of the first status in this order that it holds (deviceStatuses indexes: ok 0, warning 1, alarm 2, offline 3, never_seen 4). */
export const WORST_FIRST = [2, 1, 3, 4, 0] as const

/** deviceStatuses index of the worst status among counts (deviceStatuses order); ok when empty. */
export function worstOf(counts: ArrayLike<number>, at = 0): number {
  for (const s of WORST_FIRST) if ((counts[at + s] ?? 0) > 0) return s
  return 0
}
