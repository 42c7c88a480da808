import { Router } from 'express'
import { type AlarmLinesResponse, DeviceIdPath, type DeviceRecord, type DeviceView } from '@mytho/schema'
import { HttpError, parseInput } from '../http-errors.ts'
import type { LiveState } from '../live-state.ts'

/** Devices with their status and last reading, served from memory (target ≤ 10 ms for 5,000 devices). */
export function devicesRouter(state: LiveState, clock: () => number, alarmLines: (device: DeviceRecord) => AlarmLinesResponse['lines']): Router {
  const r = Router()

  r.get('/devices', (_req, res) => {
    state.refresh(clock())
    res.type('application/json').send(state.viewsJson())
  })

  r.get('/devices.geojson', (_req, res) => {
    state.refresh(clock())
    res.type('application/geo+json').json({
      type: 'FeatureCollection',
      features: state.views().map((v: DeviceView) => {
        const { lat, lon, ...properties } = v
        return { type: 'Feature', id: v.id, geometry: { type: 'Point', coordinates: [lon, lat] }, properties }
      }),
    })
  })

  r.get('/devices/:id', (req, res) => {
    const { id } = parseInput(DeviceIdPath, req.params, 'path')
    state.refresh(clock())
    const v = state.view(id)
    if (!v) throw new HttpError(404, `no device ${id}`)
    res.json(v)
  })

  // The chart's level lines, from the rules the markers and incidents are judged by.
  r.get('/devices/:id/alarm-lines', (req, res) => {
    const { id } = parseInput(DeviceIdPath, req.params, 'path')
    const v = state.view(id)
    if (!v) throw new HttpError(404, `no device ${id}`)
    const body: AlarmLinesResponse = { deviceId: id, lines: alarmLines(v) }
    res.json(body)
  })

  return r
}
