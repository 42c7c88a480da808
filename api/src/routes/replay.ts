import { Router } from 'express'
import {
  REPLAY_MAX_AGE_MS,
  REPLAY_RAW_MAX_MS,
  ReplayChangesParams,
  ReplayStateParams,
  type DeviceKind,
  type DeviceRecord,
  type DeviceRegistry,
  type Incident,
  type ReplayChanges,
  type ReplayFrame,
  type ReplayResolution,
  type ReplayRow,
  type ReplayState,
  type Ward,
} from '@mytho/schema'
import type { ReadingStore, ReplayPoint } from '@mytho/storage'
import { activeAsOf, incidentAsOf, type AlertRule, type DeviceJudge, type OperatorIncidents } from '@mytho/alerts'
import { silenceLimitMs, statusOf } from '../device-status.ts'
import { HttpError, parseInput } from '../http-errors.ts'

/*
 * City-wide replay (issue #21): the map at a past instant and what changed in a window, from storage (one query for
 * the readings, one for the incidents), each row judged by the live judge (statusOf with the engine's rule set).
 *
 * A row's reading time is the reading's `ts` (raw) or its 5-minute bucket's start (5m; fields the bucket's means,
 * rounded to 0.001, status judged on its worst value in each rule's direction). Silence is judged as live but on the
 * reading time (receive times and the Last Will's are not kept per instant): offline once the newest reading, or the
 * end of its bucket, is older than three of the device's intervals. A device with no reading in the lookback (a day,
 * or its silence limit plus a bucket if longer) is `never_seen`: one bounded query whatever the instant.
 */

const FIVE_MIN_MS = 300_000
const DAY_MS = 86_400_000
/** Incidents one answer carries (the store's largest page). */
const INCIDENTS_MAX = 1000

export interface ReplayDeps {
  registry: DeviceRegistry
  store: ReadingStore
  incidents: () => OperatorIncidents | undefined
  /** The rule set the engine runs: an incident's past severity, title and action. */
  rules: readonly AlertRule[]
  judge: DeviceJudge
  clock: () => number
}

export function replayRouter(deps: ReplayDeps): Router {
  const r = Router()

  const tooOld = (t: number, param: string) => {
    if (t < deps.clock() - REPLAY_MAX_AGE_MS)
      throw new HttpError(400, `invalid query parameter ${param}: replay reaches back ${REPLAY_MAX_AGE_MS / DAY_MS} days`)
  }

  r.get('/replay/state', async (req, res) => {
    const q = parseInput(ReplayStateParams, req.query, 'query')
    tooOld(q.at, 'at')
    const devices = selected(deps.registry, q.kinds, q.wards)
    const resolution = q.resolution ?? '5m'
    const [points, incidents] = await Promise.all([
      deps.store.stateAt({ at: q.at, lookbackMs: lookbackMs(devices), resolution }),
      incidentsIn(q.at, q.at + 1, devices, q),
    ])
    const byId = new Map(points.map((p) => [p.deviceId, p]))
    const body: ReplayState = {
      at: q.at,
      resolution,
      ids: devices.map((d) => d.id),
      rows: devices.map((d, i) => rowOf(i, d, byId.get(d.id), q.at, resolution)),
      incidents: incidents.flatMap((inc) => {
        const then = incidentAsOf(inc, q.at, deps.rules)
        return then && activeAsOf(then) ? [then] : []
      }),
    }
    res.json(body)
  })

  r.get('/replay/changes', async (req, res) => {
    const q = parseInput(ReplayChangesParams, req.query, 'query')
    tooOld(q.from, 'from')
    const devices = selected(deps.registry, q.kinds, q.wards)
    const resolution: ReplayResolution = q.to - q.from <= REPLAY_RAW_MAX_MS ? 'raw' : '5m'
    // The state just before `from` too: a device silent since then goes offline inside the window.
    const [before, points, incidents] = await Promise.all([
      deps.store.stateAt({ at: q.from - 1, lookbackMs: lookbackMs(devices), resolution }),
      deps.store.changes({ from: q.from, to: q.to, resolution }),
      incidentsIn(q.from, q.to, devices, q),
    ])
    const body: ReplayChanges = {
      from: q.from,
      to: q.to,
      resolution,
      ids: devices.map((d) => d.id),
      frames: framesOf(devices, before, points, q.from, q.to, resolution),
      incidents: incidents.flatMap((inc) => (inc.events.some((e) => e.at >= q.from && e.at < q.to) ? [incidentAsOf(inc, q.to - 1, deps.rules)!] : [])),
    }
    res.json(body)
  })

  /** Incidents alive at `from` or changed in [from, to), of the devices shown when the caller filtered them. */
  async function incidentsIn(from: number, to: number, devices: readonly DeviceRecord[], q: { kinds?: unknown; wards?: unknown }): Promise<Incident[]> {
    const store = deps.incidents()
    if (!store) return []
    const list = await store.list({ range: 'replay', from, to, limit: INCIDENTS_MAX })
    if (q.kinds === undefined && q.wards === undefined) return list
    const shown = new Set(devices.map((d) => d.id))
    return list.filter((inc) => inc.deviceIds.some((id) => shown.has(id)))
  }

  /** One device's row at `at`: its point judged as live judges a reading, silence measured from the point. */
  function rowOf(i: number, d: DeviceRecord, p: ReplayPoint | undefined, at: number, resolution: ReplayResolution): ReplayRow {
    if (!p) return [i, 'never_seen', null, null]
    const lastReading = p.min && p.max ? { fields: p.fields, span: { min: p.min, max: p.max } } : { fields: p.fields }
    const status = statusOf(d, { lastReading, lastSeen: seenAt(p, resolution), connection: null, connectionAt: 0 }, at, deps.judge)
    return [i, status, p.ts, resolution === '5m' ? rounded(p.fields) : p.fields]
  }

  /**
   * Frames of [from, to): each point as a row at its time, and a device going offline where its silence limit runs
   * out before its next point; a row equal to the device's previous one (status and fields) is left out.
   */
  function framesOf(
    devices: readonly DeviceRecord[],
    before: readonly ReplayPoint[],
    points: readonly ReplayPoint[],
    from: number,
    to: number,
    resolution: ReplayResolution,
  ): ReplayFrame[] {
    const index = new Map(devices.map((d, i) => [d.id, i]))
    const perDevice = new Map<number, ReplayPoint[]>()
    for (const p of points) {
      const i = index.get(p.deviceId)
      if (i === undefined) continue
      let list = perDevice.get(i)
      if (!list) perDevice.set(i, (list = []))
      list.push(p)
    }
    const lastBefore = new Map<number, ReplayPoint>()
    for (const p of before) {
      const i = index.get(p.deviceId)
      if (i !== undefined) lastBefore.set(i, p)
    }
    const byTime = new Map<number, ReplayRow[]>()
    const put = (t: number, row: ReplayRow) => {
      let rows = byTime.get(t)
      if (!rows) byTime.set(t, (rows = []))
      rows.push(row)
    }
    devices.forEach((d, i) => {
      const own = perDevice.get(i) ?? []
      const prior = lastBefore.get(i)
      let shown: ReplayRow | undefined
      const emit = (t: number, row: ReplayRow) => {
        if (shown && shown[1] === row[1] && sameFields(shown[3], row[3])) return
        shown = row
        put(t, row)
      }
      // the silence after a point, when it runs out before the next one (or the window's end)
      const silence = (p: ReplayPoint, next: number) => {
        const offlineAt = seenAt(p, resolution) + silenceLimitMs(d) + 1
        if (offlineAt >= from && offlineAt < next) emit(offlineAt, rowOf(i, d, p, offlineAt, resolution))
      }
      if (prior) silence(prior, own[0]?.ts ?? to)
      own.forEach((p, k) => {
        emit(p.ts, rowOf(i, d, p, p.ts, resolution))
        silence(p, own[k + 1]?.ts ?? to)
      })
    })
    return [...byTime].sort(([a], [b]) => a - b).map(([t, rows]) => ({ t, rows: rows.sort((a, b) => a[0] - b[0]) }))
  }

  return r
}

/** The registry's devices (enabled ones: a disabled device leaves it), of the kinds and wards asked, by id. */
function selected(registry: DeviceRegistry, kinds: readonly DeviceKind[] | undefined, wards: readonly Ward[] | undefined): DeviceRecord[] {
  const k = kinds && kinds.length > 0 ? new Set(kinds) : undefined
  const w = wards && wards.length > 0 ? new Set(wards) : undefined
  return registry.devices.filter((d) => (!k || k.has(d.kind)) && (!w || w.has(d.ward))).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

/** A day, or the longest silence limit of these devices and a bucket if that is longer. */
const lookbackMs = (devices: readonly DeviceRecord[]): number =>
  Math.min(
    REPLAY_MAX_AGE_MS,
    devices.reduce((most, d) => Math.max(most, silenceLimitMs(d) + FIVE_MIN_MS), DAY_MS),
  )

/** When a point shows the device was last heard: the reading's time, or the end of its bucket (its last reading was in it). */
const seenAt = (p: ReplayPoint, resolution: ReplayResolution) => (resolution === '5m' ? p.ts + FIVE_MIN_MS : p.ts)

const rounded = (fields: Record<string, number>): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(fields)) out[k] = Math.round(v * 1000) / 1000
  return out
}

function sameFields(a: Record<string, number> | null, b: Record<string, number> | null): boolean {
  if (a === b) return true
  if (!a || !b) return false
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k])
}
