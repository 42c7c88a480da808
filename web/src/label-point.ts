import type { OverlayGeometry } from '@mytho/schema/overlays'

type Pos = readonly number[]

/**
 * Where a feature's label goes, [lon, lat]: a point on it, the middle of a line (by length, on the longest part), or
 * inside an area (its largest part's centroid when that falls inside; else the middle of the widest span across
 * the ring at the centroid's latitude, so a crescent-shaped ward is not labelled in its neighbour).
 */
export function labelPoint(g: OverlayGeometry): [number, number] | undefined {
  switch (g.type) {
    case 'Point':
      return [g.coordinates[0], g.coordinates[1]]
    case 'MultiPoint':
      return g.coordinates[0] && [g.coordinates[0][0], g.coordinates[0][1]]
    case 'LineString':
      return lineMiddle(g.coordinates)
    case 'MultiLineString':
      return longest(g.coordinates, lineLength, lineMiddle)
    case 'Polygon':
      return areaPoint(g.coordinates[0]!)
    case 'MultiPolygon':
      return longest(
        g.coordinates.map((p) => p[0]!),
        (r) => Math.abs(ringArea(r)),
        areaPoint,
      )
  }
}

function longest<T>(parts: T[], size: (p: T) => number, at: (p: T) => [number, number] | undefined) {
  let best: T | undefined
  let bestSize = -1
  for (const p of parts) {
    const s = size(p)
    if (s > bestSize) [best, bestSize] = [p, s]
  }
  return best === undefined ? undefined : at(best)
}

const segment = (a: Pos, b: Pos) => Math.hypot(b[0]! - a[0]!, b[1]! - a[1]!)
const lineLength = (l: Pos[]) => l.reduce((n, p, i) => (i === 0 ? 0 : n + segment(l[i - 1]!, p)), 0)

function lineMiddle(l: Pos[]): [number, number] | undefined {
  let left = lineLength(l) / 2
  for (let i = 1; i < l.length; i++) {
    const a = l[i - 1]!
    const b = l[i]!
    const d = segment(a, b)
    if (d >= left && d > 0) return [a[0]! + ((b[0]! - a[0]!) * left) / d, a[1]! + ((b[1]! - a[1]!) * left) / d]
    left -= d
  }
  return l[0] && [l[0][0]!, l[0][1]!]
}

/** Signed area (shoelace), in squared degrees: only compared and divided by, so the units do not matter. */
function ringArea(r: Pos[]): number {
  let a = 0
  for (let i = 1; i < r.length; i++) a += r[i - 1]![0]! * r[i]![1]! - r[i]![0]! * r[i - 1]![1]!
  return a / 2
}

function areaPoint(r: Pos[]): [number, number] | undefined {
  const a = ringArea(r)
  let cx = 0
  let cy = 0
  for (let i = 1; i < r.length; i++) {
    const cross = r[i - 1]![0]! * r[i]![1]! - r[i]![0]! * r[i - 1]![1]!
    cx += (r[i - 1]![0]! + r[i]![0]!) * cross
    cy += (r[i - 1]![1]! + r[i]![1]!) * cross
  }
  if (a === 0) return r[0] && [r[0][0]!, r[0][1]!]
  const c: [number, number] = [cx / (6 * a), cy / (6 * a)]
  return inside(c, r) ? c : (widestSpan(c[1], r) ?? c)
}

function crossings(lat: number, r: Pos[]): number[] {
  const xs: number[] = []
  for (let i = 1; i < r.length; i++) {
    const [x1, y1] = r[i - 1] as [number, number]
    const [x2, y2] = r[i] as [number, number]
    if (y1 > lat !== y2 > lat) xs.push(x1 + ((lat - y1) * (x2 - x1)) / (y2 - y1))
  }
  return xs.sort((a, b) => a - b)
}

const inside = (p: [number, number], r: Pos[]) => crossings(p[1], r).filter((x) => x < p[0]).length % 2 === 1

function widestSpan(lat: number, r: Pos[]): [number, number] | undefined {
  const xs = crossings(lat, r)
  let best: [number, number] | undefined
  for (let i = 0; i + 1 < xs.length; i += 2) if (!best || xs[i + 1]! - xs[i]! > best[1] - best[0]) best = [xs[i]!, xs[i + 1]!]
  return best && [(best[0] + best[1]) / 2, lat]
}
