import { z } from 'zod'
import { DeviceRecord } from '@mytho/schema'

/*
 * Bulk import of devices from CSV or GeoJSON: every row is checked on its own and a bad row is reported
 * with its number and every reason, never stopping the others.
 *   CSV: a header row naming DeviceRecord fields (id,kind,nameVi,nameEn,lat,lon,ward,intervalS,
 *        batteryPowered,locationConfidence and, where they apply, waterBody,road,gatewayId); RFC 4180 quoting.
 *   GeoJSON: a FeatureCollection of Point features, [lon, lat], the other fields in `properties`.
 */

export interface ImportRow {
  /** 1-based data row (CSV) or feature (GeoJSON). */
  row: number
  id?: string
  record?: DeviceRecord
  errors: string[]
}

export class ImportFormatError extends Error {
  override name = 'ImportFormatError'
}

/** RFC 4180: fields in double quotes may hold commas, newlines and doubled quotes. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++
      else if (c === '"') quoted = false
      else field += c
    } else if (c === '"' && field === '') quoted = true
    else if (c === ',') row.push(field), (field = '')
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++
      row.push(field)
      field = ''
      if (row.some((f) => f !== '')) rows.push(row)
      row = []
    } else field += c
  }
  row.push(field)
  if (row.some((f) => f !== '')) rows.push(row)
  return rows
}

const NUMBER_FIELDS = new Set(['lat', 'lon', 'intervalS'])
const KNOWN_FIELDS = new Set(Object.keys(DeviceRecord.shape))

/** CSV cells are strings: numbers and booleans are read as such, empty cells as absent. */
function coerce(name: string, value: string): unknown {
  const v = value.trim()
  if (v === '') return undefined
  if (NUMBER_FIELDS.has(name)) return /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v
  if (name === 'batteryPowered') return ['true', '1', 'yes'].includes(v.toLowerCase()) ? true : ['false', '0', 'no'].includes(v.toLowerCase()) ? false : v
  return v
}

const describe = (e: z.ZodError): string[] => e.issues.map((i) => `${i.path.join('.') || '(row)'}: ${i.message}`)

function check(row: number, raw: Record<string, unknown>): ImportRow {
  const id = typeof raw['id'] === 'string' ? raw['id'] : undefined
  const r = DeviceRecord.safeParse(raw)
  return r.success ? { row, id: r.data.id, record: r.data, errors: [] } : { row, ...(id !== undefined ? { id } : {}), errors: describe(r.error) }
}

export function readCsv(text: string): ImportRow[] {
  const [header, ...rows] = parseCsv(text.replace(/^\uFEFF/, ''))
  if (!header) throw new ImportFormatError('empty CSV: expected a header row')
  const names = header.map((h) => h.trim())
  const unknown = names.filter((n) => !KNOWN_FIELDS.has(n))
  if (unknown.length > 0)
    throw new ImportFormatError(`unknown CSV column ${unknown.join(', ')}; columns are DeviceRecord fields: ${[...KNOWN_FIELDS].join(', ')}`)
  return rows.map((cells, i) => {
    if (cells.length !== names.length) return { row: i + 1, errors: [`expected ${names.length} cells, got ${cells.length}`] }
    const raw = Object.fromEntries(names.map((n, j) => [n, coerce(n, cells[j]!)]).filter(([, v]) => v !== undefined))
    return check(i + 1, raw)
  })
}

const Feature = z.object({
  type: z.literal('Feature'),
  geometry: z.object({ type: z.literal('Point'), coordinates: z.tuple([z.number(), z.number()]).rest(z.number()) }),
  properties: z.record(z.string(), z.unknown()).nullable(),
})

export function readGeoJson(text: string): ImportRow[] {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw new ImportFormatError(`not JSON: ${(err as Error).message}`)
  }
  const fc = z.object({ type: z.literal('FeatureCollection'), features: z.array(z.unknown()) }).safeParse(doc)
  if (!fc.success) throw new ImportFormatError('expected a GeoJSON FeatureCollection')
  return fc.data.features.map((f, i) => {
    const p = Feature.safeParse(f)
    if (!p.success) return { row: i + 1, errors: describe(p.error).map((m) => `feature ${m}`) }
    const [lon, lat] = p.data.geometry.coordinates
    return check(i + 1, { ...(p.data.properties ?? {}), lat, lon })
  })
}

/** Cross-row checks: an id twice in the file or already provisioned, a gateway that is neither. */
export function checkAgainst(rows: ImportRow[], exists: (id: string) => boolean, reserved: (id: string) => boolean): ImportRow[] {
  const seen = new Map<string, number>()
  const incoming = new Set(rows.filter((r) => r.record).map((r) => r.record!.id))
  for (const r of rows) {
    if (!r.record) continue
    const { id, gatewayId } = r.record
    if (reserved(id)) r.errors.push(`id: ${id} is reserved for a service account`)
    else if (exists(id)) r.errors.push(`id: device ${id} is already provisioned`)
    const first = seen.get(id)
    if (first !== undefined) r.errors.push(`id: ${id} repeats row ${first}`)
    else seen.set(id, r.row)
    if (gatewayId !== undefined && !exists(gatewayId) && !incoming.has(gatewayId)) r.errors.push(`gatewayId: ${gatewayId} is not a provisioned device`)
  }
  return rows
}
