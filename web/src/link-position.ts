/*
 * The position part of the URL hash (`lat`, `lon`, `z`), apart from deeplink.ts so that the page's entry
 * (boot.ts) can read it without the schema modules (and zod) deeplink.ts needs for the filters.
 */
export interface LinkPosition {
  lat?: number
  lon?: number
  zoom?: number
}

function num(v: string | null, min: number, max: number): number | undefined {
  if (v === null || v === '') return undefined
  const n = Number(v)
  return Number.isFinite(n) && n >= min && n <= max ? n : undefined
}

/** A position needs both coordinates; a zoom alone is kept (the map centres the city at it). */
export function parsePosition(p: URLSearchParams): LinkPosition {
  const s: LinkPosition = {}
  const lat = num(p.get('lat'), -90, 90)
  const lon = num(p.get('lon'), -180, 180)
  const zoom = num(p.get('z'), 0, 22)
  if (lat !== undefined && lon !== undefined) Object.assign(s, { lat, lon })
  if (zoom !== undefined) s.zoom = zoom
  return s
}
