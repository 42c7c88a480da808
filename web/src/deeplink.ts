import { deviceKinds, deviceStatuses, wards, type DeviceKind, type DeviceStatus, type Ward } from './schema.ts'
import type { Filters } from './filters.ts'
import { parsePosition } from './link-position.ts'

/** Replay in the hash (`r` the instant, `rf`–`rt` the window, UTC ms; `rx` the speed): the past the map shows. */
export interface ReplayLink {
  at: number
  from: number
  to: number
  speed: number
}

/**
 * What the URL hash holds: `#lat=10.3600&lon=106.3600&z=14&d=device-id&k=traffic,rain&s=alarm&w=my-tho`, and while
 * replaying `&r=…&rf=…&rt=…&rx=60`.
 */
export interface LinkState {
  lat?: number
  lon?: number
  zoom?: number
  selected?: string
  kinds?: DeviceKind[]
  statuses?: DeviceStatus[]
  wards?: Ward[]
  replay?: ReplayLink
}

const ms = (v: string | null): number | undefined => (v !== null && /^\d{12,14}$/.test(v) ? Number(v) : undefined)
function parseReplay(p: URLSearchParams): ReplayLink | undefined {
  const at = ms(p.get('r'))
  const from = ms(p.get('rf'))
  const to = ms(p.get('rt'))
  const speed = Number(p.get('rx') ?? '60')
  if (at === undefined || from === undefined || to === undefined || !(from < to) || !Number.isFinite(speed) || speed <= 0) return undefined
  return { at: Math.min(to, Math.max(from, at)), from, to, speed }
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
  const r = parseReplay(p)
  if (r) s.replay = r
  return s
}

export function formatHash(center: { lat: number; lng: number }, zoom: number, selected: string | undefined, f: Filters, replay?: ReplayLink): string {
  const p = new URLSearchParams()
  p.set('lat', center.lat.toFixed(5))
  p.set('lon', center.lng.toFixed(5))
  p.set('z', String(zoom))
  if (selected) p.set('d', selected)
  if (f.kinds.size < deviceKinds.length) p.set('k', [...f.kinds].join(','))
  if (f.statuses.size < deviceStatuses.length) p.set('s', [...f.statuses].join(','))
  if (f.wards.size < wards.length) p.set('w', [...f.wards].join(','))
  if (replay) {
    p.set('r', String(Math.round(replay.at)))
    p.set('rf', String(replay.from))
    p.set('rt', String(replay.to))
    p.set('rx', String(replay.speed))
  }
  // URLSearchParams escapes the commas; they are safe in a fragment and easier to read
  return `#${p.toString().replace(/%2C/g, ',')}`
}
