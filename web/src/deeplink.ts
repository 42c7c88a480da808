import { deviceKinds, deviceStatuses, wards, type DeviceKind, type DeviceStatus, type Ward } from './schema.ts'
import type { Filters } from './filters.ts'
import { parsePosition } from './link-position.ts'

/** What the URL hash holds: `#lat=10.3600&lon=106.3600&z=14&d=device-id&k=traffic,rain&s=alarm&w=my-tho`. */
export interface LinkState {
  lat?: number
  lon?: number
  zoom?: number
  selected?: string
  kinds?: DeviceKind[]
  statuses?: DeviceStatus[]
  wards?: Ward[]
}

function list<T extends string>(v: string | null, allowed: readonly T[]): T[] | undefined {
  if (v === null) return undefined
  return v.split(',').filter((x): x is T => (allowed as readonly string[]).includes(x))
}
export function parseHash(hash: string): LinkState {
  const p = new URLSearchParams(hash.replace(/^#/, ''))
  const s: LinkState = parsePosition(p)
  const d = p.get('d')
  if (d && /^[a-z0-9-]{3,64}$/.test(d)) s.selected = d
  const k = list(p.get('k'), deviceKinds)
  const st = list(p.get('s'), deviceStatuses)
  const w = list(p.get('w'), wards)
  if (k) s.kinds = k
  if (st) s.statuses = st
  if (w) s.wards = w
  return s
}

export function formatHash(center: { lat: number; lng: number }, zoom: number, selected: string | undefined, f: Filters): string {
  const p = new URLSearchParams()
  p.set('lat', center.lat.toFixed(5))
  p.set('lon', center.lng.toFixed(5))
  p.set('z', String(zoom))
  if (selected) p.set('d', selected)
  if (f.kinds.size < deviceKinds.length) p.set('k', [...f.kinds].join(','))
  if (f.statuses.size < deviceStatuses.length) p.set('s', [...f.statuses].join(','))
  if (f.wards.size < wards.length) p.set('w', [...f.wards].join(','))
  // URLSearchParams escapes the commas; they are safe in a fragment and easier to read
  return `#${p.toString().replace(/%2C/g, ',')}`
}
