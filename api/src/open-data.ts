import { mkdir, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { stringify } from 'csv-stringify/sync'
import {
  deviceKinds,
  LOCAL_UTC_OFFSET_MS,
  metricsByKind,
  metricUnits,
  ngsiEntityId,
  SMART_DATA_MODELS,
  type DeviceKind,
  type DeviceRecord,
} from '@mytho/schema'
import type { ReadingStore } from '@mytho/storage'

/*
 * The open-data export (issue #22): for one local day (Asia/Ho_Chi_Minh), per kind, the places (GeoJSON) and the
 * readings aggregated to the hour (CSV), for the public portal. A device an admin marked not public (`public: false`
 * in the registry, POST /admin/devices/{id}/public) is left out of both. Every row is one of the store's hourly
 * roll-up windows, as GET /api/v1/history?window=1h answers it; the device housekeeping metrics (battery, counting
 * interval) are not published. Files are written under a temporary name and renamed, so a portal never picks up half.
 */

export const OPEN_DATA_LICENCE = 'CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/) — Dữ liệu quan trắc đô thị Mỹ Tho / Mỹ Tho city telemetry'

/** Metrics a device reports about itself rather than about the city: not published. */
const HOUSEKEEPING = new Set(['batteryV', 'intervalS'])

export const OPEN_DATA_CSV_COLUMNS = ['device_id', 'ward', 'metric', 'unit', 'hour_start_utc', 'hour_start_local', 'mean', 'min', 'max', 'count'] as const

const DAY_MS = 86_400_000

/** [from, to) of a local day `YYYY-MM-DD` in UTC ms. */
export function localDayRange(day: string): { from: number; to: number } {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day)
  const from = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) - LOCAL_UTC_OFFSET_MS : Number.NaN
  if (!Number.isFinite(from) || new Date(from + LOCAL_UTC_OFFSET_MS).toISOString().slice(0, 10) !== day)
    throw new OpenDataError(`day ${day} is not a date YYYY-MM-DD`)
  return { from, to: from + DAY_MS }
}

/** The local date (YYYY-MM-DD) of the day before the one `now` is in: the last whole day. */
export const yesterdayLocal = (now: number): string => new Date(now + LOCAL_UTC_OFFSET_MS - DAY_MS).toISOString().slice(0, 10)

const localIso = (ms: number) => `${new Date(ms + LOCAL_UTC_OFFSET_MS).toISOString().slice(0, 19)}+07:00`

export class OpenDataError extends Error {
  override name = 'OpenDataError'
}

export const publishedMetrics = (kind: DeviceKind): string[] => metricsByKind[kind].filter((m) => !HOUSEKEEPING.has(m))
export const isPublic = (d: DeviceRecord): boolean => d.public !== false

export interface OpenDataRow {
  deviceId: string
  ward: string
  metric: string
  hourStart: number
  mean: number
  min: number
  max: number
  count: number
}

/** The hourly rows of one kind's public devices over [from, to), ordered by device, metric, hour. */
export async function hourlyRows(
  store: ReadingStore,
  devices: readonly DeviceRecord[],
  kind: DeviceKind,
  range: { from: number; to: number },
): Promise<OpenDataRow[]> {
  const ds = devices.filter((d) => d.kind === kind && isPublic(d)).sort((a, b) => (a.id < b.id ? -1 : 1))
  if (ds.length === 0) return []
  const ward = new Map(ds.map((d) => [d.id, d.ward]))
  const rows: OpenDataRow[] = []
  for (const metric of publishedMetrics(kind))
    for (const s of await store.history({ deviceIds: ds.map((d) => d.id), metric, window: '1h', ...range }))
      for (const p of s.points)
        rows.push({ deviceId: s.deviceId, ward: ward.get(s.deviceId)!, metric, hourStart: p.ts, mean: p.mean, min: p.min, max: p.max, count: p.count })
  return rows.sort((a, b) =>
    a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : a.hourStart - b.hourStart,
  )
}

function csvOf(rows: readonly OpenDataRow[], licence: string): string {
  const body = stringify(
    rows.map((r) => [
      r.deviceId,
      r.ward,
      r.metric,
      metricUnits[r.metric as keyof typeof metricUnits] ?? '',
      new Date(r.hourStart).toISOString(),
      localIso(r.hourStart),
      r.mean,
      r.min,
      r.max,
      r.count,
    ]),
    { header: true, columns: [...OPEN_DATA_CSV_COLUMNS] },
  )
  // A comment line first (csv-parse's `comment: '#'`, pandas' `comment='#'`): the licence travels with the file.
  return `# Licence: ${licence}\n${body}`
}

function placesOf(devices: readonly DeviceRecord[], kind: DeviceKind, licence: string): string {
  const features = devices
    .filter((d) => d.kind === kind && isPublic(d))
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((d) => ({
      type: 'Feature',
      id: d.id,
      geometry: { type: 'Point', coordinates: [d.lon, d.lat] },
      properties: {
        id: d.id,
        kind: d.kind,
        nameVi: d.nameVi,
        nameEn: d.nameEn,
        ward: d.ward,
        ...(d.waterBody !== undefined ? { waterBody: d.waterBody } : {}),
        ...(d.road !== undefined ? { road: d.road } : {}),
        locationConfidence: d.locationConfidence,
        metrics: publishedMetrics(kind),
        ngsiLdId: ngsiEntityId(kind, d.id),
        ngsiLdType: SMART_DATA_MODELS[kind].type,
      },
    }))
  // `license` is a foreign member (RFC 7946 §6.1): readers that do not know it ignore it.
  return `${JSON.stringify({ type: 'FeatureCollection', license: licence, features }, null, 1)}\n`
}

export function openDataReadme(day: string, licence: string): string {
  return `# Mỹ Tho open data, ${day} (Asia/Ho_Chi_Minh)

Licence: ${licence}

Per device kind (${deviceKinds.join(', ')}):

- \`<kind>-places.geojson\`: the kind's public devices as GeoJSON Points ([longitude, latitude], WGS 84); properties
  id, kind, nameVi, nameEn, ward, waterBody (gauges), road (traffic counters), locationConfidence (A dataset, B single
  source, C estimate), metrics (the columns published for it), ngsiLdId and ngsiLdType (the same device on the NGSI-LD
  interface).
- \`<kind>-hourly.csv\`: a first line \`# Licence: …\`, then one row per device, metric and clock hour that had readings:
${OPEN_DATA_CSV_COLUMNS.map((c) => `  ${c}`).join('\n')}
  device_id and ward as in the places file; metric and unit as in the device contract (waterLevelCm: cm on the
  national datum; avgSpeedKmh: km/h; occupancyPct: %; salinityGL: g/L; pm25UgM3, pm10UgM3: µg/m³; rainMm: mm in the
  reporting interval, so its mean is per reading); hour_start_utc / hour_start_local the hour's start (ISO 8601);
  mean, min, max over the hour's readings; count how many readings the hour had. Hours without readings have no row.
`
}

export interface OpenDataExport {
  day: string
  dir: string
  files: string[]
  /** Rows written per kind. */
  rows: Record<DeviceKind, number>
}

/** Writes `<outDir>/<day>/` : per kind a places GeoJSON and an hourly CSV, and a README of the fields. */
export async function exportOpenData(o: {
  store: ReadingStore
  devices: readonly DeviceRecord[]
  day: string
  outDir: string
  licence?: string
}): Promise<OpenDataExport> {
  const range = localDayRange(o.day)
  const licence = o.licence ?? OPEN_DATA_LICENCE
  const dir = join(o.outDir, o.day)
  await mkdir(dir, { recursive: true })
  const files: string[] = []
  const rows = {} as Record<DeviceKind, number>
  const put = async (name: string, text: string) => {
    const tmp = join(dir, `.${name}.tmp`)
    await writeFile(tmp, text)
    await rename(tmp, join(dir, name))
    files.push(name)
  }
  for (const kind of deviceKinds) {
    const r = await hourlyRows(o.store, o.devices, kind, range)
    rows[kind] = r.length
    await put(`${kind}-places.geojson`, placesOf(o.devices, kind, licence))
    await put(`${kind}-hourly.csv`, csvOf(r, licence))
  }
  await put('README.md', openDataReadme(o.day, licence))
  return { day: o.day, dir, files, rows }
}
