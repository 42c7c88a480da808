import { Router } from 'express'
import type { MapConfigResponse } from '@mytho/schema'

/** The map asks at load which tile server to use, so a city can point it at its own without a rebuild. */
export function mapConfigRouter(config: MapConfigResponse): Router {
  const r = Router()
  r.get('/config', (_req, res) => {
    res.json(config)
  })
  return r
}
