import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { z } from 'zod'
import {
  OVERLAY_MAX_BYTES,
  OVERLAY_MAX_FILES,
  OVERLAY_MAX_POSITIONS,
  OverlayCollection,
  OverlayId,
  OverlayLayerFile,
  type OverlayFeature,
  type OverlaySummary,
} from '@mytho/schema'
import { ConfigError, type Logger } from '@mytho/runtime'
import { API_PREFIX } from './openapi.ts'

/** One overlay as served: its summary, its GeoJSON (compact) and that body's ETag. */
export interface LoadedOverlay {
  summary: OverlaySummary
  body: string
  etag: string
}

const GEOJSON = '.geojson'
const SIDECAR = '.layer.json'
/** Problems listed per file before "and N more": enough to see the pattern, short enough to read in a log. */
const ISSUES_SHOWN = 5

/**
 * Reads and validates every `<id>.geojson` of MAP_OVERLAYS_DIR with its `<id>.layer.json`. Any problem stops the start
 * with one error listing every bad file (and the feature and field in it), so an operator fixes the folder in one go;
 * a map that quietly dropped a layer would look complete to the room. No directory: no overlays.
 */
export function loadOverlays(dir: string | undefined, log: Logger): LoadedOverlay[] {
  if (dir === undefined) return []
  const problems: string[] = []
  const fail = (file: string, problem: string) => problems.push(`${file}: ${problem}`)
  let names: string[]
  try {
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error(), { code: 'ENOTDIR' })
    names = readdirSync(dir).sort()
  } catch (err) {
    throw startError([`${dir} is not a readable directory (${(err as NodeJS.ErrnoException).code ?? 'error'})`])
  }
  const layers = names.filter((n) => n.endsWith(GEOJSON))
  if (layers.length > OVERLAY_MAX_FILES) throw startError([`${layers.length} overlays: at most ${OVERLAY_MAX_FILES}`])
  for (const n of names) {
    if (n.endsWith(SIDECAR) && !names.includes(n.slice(0, -SIDECAR.length) + GEOJSON)) fail(n, `no ${n.slice(0, -SIDECAR.length)}${GEOJSON} beside it`)
    else if (!n.endsWith(GEOJSON) && !n.endsWith(SIDECAR))
      log.warn('MAP_OVERLAYS_DIR: file ignored (overlays are <id>.geojson with <id>.layer.json)', { file: n })
  }
  const out: LoadedOverlay[] = []
  for (const file of layers) {
    const loaded = loadOne(dir, file, (p) => fail(file, p))
    if (loaded) out.push(loaded)
  }
  if (problems.length > 0) throw startError(problems)
  out.sort((a, b) => a.summary.order - b.summary.order || a.summary.id.localeCompare(b.summary.id))
  log.info('map overlays loaded', { dir, overlays: out.map((o) => `${o.summary.id} (${o.summary.features} features)`) })
  return out
}

function loadOne(dir: string, file: string, fail: (problem: string) => void): LoadedOverlay | undefined {
  const id = file.slice(0, -GEOJSON.length)
  const idOk = OverlayId.safeParse(id)
  if (!idOk.success) return void fail(`file name: ${idOk.error.issues[0]!.message}`)
  const sidecarName = id + SIDECAR
  const sidecarPath = join(dir, sidecarName)
  if (!existsSync(sidecarPath))
    return void fail(`needs ${sidecarName} beside it (its names, style, source and licence: data without a known source and licence is not drawn)`)
  const meta = parseFile(sidecarPath, OverlayLayerFile, (p) => fail(`${sidecarName}: ${p}`))
  const size = statSync(join(dir, file)).size
  if (size > OVERLAY_MAX_BYTES) return void fail(`${size} bytes: at most ${OVERLAY_MAX_BYTES} (simplify the geometry, e.g. QGIS Simplify)`)
  const data = parseFile(join(dir, file), OverlayCollection, fail)
  if (!meta || !data) return undefined
  const positions = data.features.reduce((n, f) => n + countPositions(f.geometry.coordinates), 0)
  if (positions > OVERLAY_MAX_POSITIONS)
    return void fail(`${positions} positions: at most ${OVERLAY_MAX_POSITIONS} (simplify the geometry, e.g. QGIS Simplify)`)
  const label = meta.labelProperty
  if (label !== undefined && !data.features.some((f) => typeof f.properties?.[label] === 'string'))
    return void fail(`labelProperty "${label}" is in no feature as text (properties seen: ${propertyNames(data.features)})`)
  // Served compact: the map needs geometry and properties, not QGIS's indentation.
  const body = JSON.stringify({ type: 'FeatureCollection', features: data.features })
  return {
    summary: { ...meta, id, url: `${API_PREFIX}/overlays/${id}`, features: data.features.length },
    body,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
  }
}

function parseFile<S extends z.ZodType>(path: string, schema: S, fail: (problem: string) => void): z.infer<S> | undefined {
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    return void fail(`not JSON (${(err as Error).message})`)
  }
  const r = schema.safeParse(json)
  if (r.success) return r.data
  const issues = r.error.issues
  for (const i of issues.slice(0, ISSUES_SHOWN)) fail(describeIssue(json, i))
  if (issues.length > ISSUES_SHOWN) fail(`and ${issues.length - ISSUES_SHOWN} more problems`)
  return undefined
}

/** "feature 3 ("Phường Đạo Thạnh"): geometry.coordinates.0: a polygon ring must end where it starts". */
function describeIssue(json: unknown, i: z.core.$ZodIssue): string {
  const path = i.path.map(String)
  if (path[0] === 'features' && path.length >= 2) {
    const n = Number(path[1])
    const props = (json as { features: { properties?: Record<string, unknown> | null }[] }).features[n]?.properties
    const name = props && typeof props['name'] === 'string' ? ` ("${props['name'].slice(0, 60)}")` : ''
    const rest = path.slice(2).join('.')
    return `feature ${n}${name}: ${rest === '' ? '' : `${rest}: `}${i.message}`
  }
  // zod's message for an unknown key in a strict object names the key itself
  return `${path.length > 0 ? `${path.join('.')}: ` : ''}${i.message}`
}

function countPositions(c: unknown): number {
  if (!Array.isArray(c)) return 0
  if (typeof c[0] === 'number') return 1
  let n = 0
  for (const x of c) n += countPositions(x)
  return n
}

function propertyNames(features: OverlayFeature[]): string {
  const seen = new Set<string>()
  for (const f of features.slice(0, 100)) for (const k of Object.keys(f.properties ?? {})) seen.add(k)
  return seen.size === 0 ? 'none' : [...seen].slice(0, 10).join(', ')
}

const startError = (problems: string[]) => new ConfigError(`invalid environment:\n${problems.map((p) => `  MAP_OVERLAYS_DIR: ${p}`).join('\n')}`)
