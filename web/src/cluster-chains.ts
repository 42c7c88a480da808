/** The parts of supercluster 8's index read to keep cluster counts current without a rebuild (src: index.js). */
export interface SuperclusterInternals<P> {
  trees: ({ data: ArrayLike<number> } | undefined)[]
  stride: number
  clusterProps: P[]
}
const OFFSET_ID = 3
const OFFSET_PARENT = 4
const OFFSET_NUM = 5
const OFFSET_PROP = 6

/**
 * For every point and zoom, the clusterProps index of the cluster that holds it (-1: not clustered at that zoom),
 * read from supercluster 8's flat arrays: each level's entries carry their parent cluster id at the next lower
 * zoom, and an entry keeps its id when it is carried down unclustered. Point ids are their index (< n); cluster
 * ids are ≥ n, so one array serves as id → parent for both. About as costly as one index build, done once per build.
 */
/**
 * The clusterProps indexes of the clusters holding point i, each once. A cluster carried down unchanged to lower
 * zooms keeps its props, so the chain names it at each of those zooms: moving a count once per zoom counted it
 * several times (a cluster showed −1 warning and 2 alarms after one status change).
 */
export function clustersHolding(chain: Int32Array, i: number, maxZoom: number): number[] {
  const held: number[] = []
  const levels = maxZoom + 1
  let last = -1
  for (let z = maxZoom; z >= 0; z--) {
    const p = chain[i * levels + z]!
    // a props index spans consecutive zooms only: once merged into a bigger cluster, a cluster never comes back
    if (p < 0 || p === last) continue
    held.push(p)
    last = p
  }
  return held
}

export function clusterChains(sc: SuperclusterInternals<unknown>, n: number, maxZoom: number): Int32Array {
  const levels = maxZoom + 1
  const chain = new Int32Array(n * levels).fill(-1)
  const stride = sc.stride
  let maxId = n
  for (const t of sc.trees) if (t) for (let k = 0; k < t.data.length; k += stride) maxId = Math.max(maxId, t.data[k + OFFSET_ID]! + 1)
  const parentOf = new Int32Array(maxId)
  const propOf = new Int32Array(maxId)
  const cur = new Int32Array(n)
  for (let i = 0; i < n; i++) cur[i] = i
  for (let z = maxZoom; z >= 0; z--) {
    const upper = sc.trees[z + 1]!.data
    for (let k = 0; k < upper.length; k += stride) parentOf[upper[k + OFFSET_ID]!] = upper[k + OFFSET_PARENT]!
    const level = sc.trees[z]!.data
    for (let k = 0; k < level.length; k += stride) if (level[k + OFFSET_NUM]! > 1) propOf[level[k + OFFSET_ID]!] = level[k + OFFSET_PROP]!
    for (let i = 0; i < n; i++) {
      const parent = parentOf[cur[i]!]!
      if (parent !== -1) cur[i] = parent
      if (cur[i]! >= n) chain[i * levels + z] = propOf[cur[i]!]!
    }
  }
  return chain
}
