import { Router } from 'express'
import { DeviceHistoryParams, DeviceIdPath, HistoryParams, type AggregationWindow, type DeviceRegistry } from '@mytho/schema'
import type { ReadingStore } from '@mytho/storage'
import { HttpError, parseInput } from '../http-errors.ts'

const DEFAULT_RANGE_MS = 24 * 3_600_000

/** One metric over a time range for one or many devices, raw or in windows (1d cut at local midnight, UTC+7). */
export function historyRouter(registry: DeviceRegistry, store: ReadingStore, clock: () => number): Router {
  const r = Router()

  const range = (q: { from?: number | undefined; to?: number | undefined }) => {
    const to = q.to ?? clock()
    const from = q.from ?? to - DEFAULT_RANGE_MS
    if (from >= to) throw new HttpError(400, 'invalid query parameter from: must be before to')
    return { from, to }
  }
  const query = (deviceIds: string[], metric: string, window: AggregationWindow, q: { from?: number | undefined; to?: number | undefined }) =>
    store.history({ deviceIds, metric, window, ...range(q) })

  r.get('/history', async (req, res) => {
    const q = parseInput(HistoryParams, req.query, 'query')
    const unknown = q.deviceIds.filter((id) => !registry.get(id))
    if (unknown.length > 0) throw new HttpError(400, `invalid query parameter deviceIds: no device ${unknown.join(', ')}`)
    res.json(await query([...new Set(q.deviceIds)], q.metric, q.window, q))
  })

  r.get('/devices/:id/history', async (req, res) => {
    const { id } = parseInput(DeviceIdPath, req.params, 'path')
    if (!registry.get(id)) throw new HttpError(404, `no device ${id}`)
    const q = parseInput(DeviceHistoryParams, req.query, 'query')
    const [series] = await query([id], q.metric, q.window, q)
    res.json(series ?? { deviceId: id, metric: q.metric, window: q.window, points: [] })
  })

  return r
}
