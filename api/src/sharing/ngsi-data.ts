import {
  iso,
  ngsiValue,
  SMART_DATA_MODELS,
  windowMs,
  type AgencyAccess,
  type AggregationWindow,
  type DeviceRecord,
  type NgsiAttributeMapping,
  type NgsiObservation,
} from '@mytho/schema'
import type { ReadingStore } from '@mytho/storage'

/*
 * What the NGSI-LD answers are made of, read from the storage port the operators' history route reads: so an
 * entity's temporal values are the history route's numbers, scaled only where a model's unit differs.
 */

const HOUR_MS = 3_600_000

/**
 * Each device's newest values. `raw`: its newest reading. `aggregated`: the newest hourly roll-up window of the last
 * two hours (a key that may not see single readings sees hourly means, stamped with the window's start).
 */
export async function newestObservations(
  store: ReadingStore,
  devices: readonly DeviceRecord[],
  access: AgencyAccess,
  now: number,
): Promise<Map<string, NgsiObservation>> {
  const out = new Map<string, NgsiObservation>()
  if (devices.length === 0) return out
  if (access === 'raw') {
    for (const r of await store.latest(devices.map((d) => d.id))) out.set(r.deviceId, { ts: r.ts, fields: r.fields })
    return out
  }
  const from = Math.floor(now / HOUR_MS) * HOUR_MS - HOUR_MS
  const metrics = new Map<string, string[]>()
  for (const d of devices)
    for (const a of SMART_DATA_MODELS[d.kind].attributes as readonly NgsiAttributeMapping[]) metrics.set(a.metric, [...(metrics.get(a.metric) ?? []), d.id])
  for (const [metric, deviceIds] of metrics)
    for (const s of await store.history({ deviceIds, metric, window: '1h', from, to: now + 1 })) {
      const p = s.points.at(-1)
      if (!p) continue
      const o = out.get(s.deviceId)
      if (!o || p.ts > o.ts) out.set(s.deviceId, { ts: p.ts, fields: { [metric]: p.mean } })
      else if (p.ts === o.ts) o.fields[metric] = p.mean
    }
  return out
}

export type TemporalForm = 'normalized' | 'temporalValues'
export const ngsiAggrMethodNames = ['avg', 'min', 'max', 'totalCount'] as const
export type AggrMethod = (typeof ngsiAggrMethodNames)[number]

export interface TemporalRequest {
  device: DeviceRecord
  /** The model's attributes to give (already filtered by the request's attrs). */
  attributes: readonly NgsiAttributeMapping[]
  from: number
  to: number
  /** Raw instances in `form`, or roll-up windows with these methods. */
  mode: { raw: TemporalForm } | { window: Exclude<AggregationWindow, 'raw'>; methods: readonly AggrMethod[] }
  lastN?: number | undefined
}

/**
 * The temporal representation of one entity (CIM 009 §4.5.9/§4.5.19): per attribute its instances oldest first
 * (normalized, or `values` pairs for temporalValues), or, aggregated, each method's [value, startAt, endAt] triples.
 */
export async function temporalEntity(store: ReadingStore, t: TemporalRequest, entity: { id: string; type: string }): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { ...entity }
  for (const a of t.attributes) {
    const window = 'window' in t.mode ? t.mode.window : 'raw'
    const [series] = await store.history({ deviceIds: [t.device.id], metric: a.metric, window, from: t.from, to: t.to })
    let points = series?.points ?? []
    if (t.lastN !== undefined) points = points.slice(-t.lastN)
    if (points.length === 0) continue
    if ('raw' in t.mode) {
      out[a.attribute] =
        t.mode.raw === 'temporalValues'
          ? { type: 'Property', values: points.map((p) => [ngsiValue(a, p.mean), iso(p.ts)]) }
          : points.map((p) => ({ type: 'Property', value: ngsiValue(a, p.mean), observedAt: iso(p.ts), unitCode: a.unitCode }))
      continue
    }
    const span = windowMs[t.mode.window]
    const triple = (v: number, ts: number) => [v, iso(ts), iso(ts + span)]
    const attr: Record<string, unknown> = { type: 'Property' }
    for (const m of t.mode.methods)
      attr[m] = points.map((p) => (m === 'totalCount' ? triple(p.count, p.ts) : triple(ngsiValue(a, m === 'avg' ? p.mean : m === 'min' ? p.min : p.max), p.ts)))
    out[a.attribute] = attr
  }
  return out
}
