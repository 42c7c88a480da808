import { Router } from 'express'
import { z } from 'zod'
import { AggregationWindow, type DeviceRecord, type DeviceRegistry, type StoredReading } from '@mytho/schema'
import type { ReadingStore } from '@mytho/storage'
import { HttpError, parseInput } from '../http-errors.ts'

/** Connection-level status for now; warning/alarm come with alert rules. */
export type DeviceStatus = 'ok' | 'offline' | 'never_seen'

/** A device is offline after missing three of its own reporting intervals. */
const OFFLINE_AFTER_INTERVALS = 3

function deviceView(d: DeviceRecord, last: StoredReading | undefined, now: number) {
  const status: DeviceStatus = !last ? 'never_seen' : now - last.receivedAt > OFFLINE_AFTER_INTERVALS * d.intervalS * 1000 ? 'offline' : 'ok'
  return { ...d, status, lastSeen: last?.receivedAt ?? null, lastReading: last ?? null }
}

const HistoryParams = z.object({
  metric: z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, 'a metric name such as waterLevelCm'),
  from: z.coerce.number().int().optional(),
  to: z.coerce.number().int().optional(),
  window: AggregationWindow.default('raw'),
})

export function devicesRouter(registry: DeviceRegistry, store: ReadingStore, clock: () => number): Router {
  const r = Router()

  r.get('/devices', async (_req, res) => {
    const latest = new Map((await store.latest()).map((x) => [x.deviceId, x]))
    const now = clock()
    res.json(registry.devices.map((d) => deviceView(d, latest.get(d.id), now)))
  })

  r.get('/devices.geojson', async (_req, res) => {
    const latest = new Map((await store.latest()).map((x) => [x.deviceId, x]))
    const now = clock()
    res.type('application/geo+json').json({
      type: 'FeatureCollection',
      features: registry.devices.map((d) => {
        const { lat, lon, ...props } = deviceView(d, latest.get(d.id), now)
        return { type: 'Feature', id: d.id, geometry: { type: 'Point', coordinates: [lon, lat] }, properties: props }
      }),
    })
  })

  r.get('/devices/:id', async (req, res) => {
    const d = registry.get(req.params['id'] ?? '')
    if (!d) throw new HttpError(404, `no device ${req.params['id']}`)
    const [last] = await store.latest([d.id])
    res.json(deviceView(d, last, clock()))
  })

  r.get('/devices/:id/history', async (req, res) => {
    const d = registry.get(req.params['id'] ?? '')
    if (!d) throw new HttpError(404, `no device ${req.params['id']}`)
    const q = parseInput(HistoryParams, req.query, 'query')
    const to = q.to ?? clock()
    const from = q.from ?? to - 24 * 3_600_000
    if (from >= to) throw new HttpError(400, 'invalid query parameter from: must be before to')
    const [series] = await store.history({ deviceIds: [d.id], metric: q.metric, from, to, window: q.window })
    res.json(series ?? { deviceId: d.id, metric: q.metric, window: q.window, points: [] })
  })

  return r
}
