import { Router, type RequestHandler } from 'express'
import { OverlayIdPath, TilePath, type OverlayListResponse } from '@mytho/schema'
import { clientIp, requireRole } from '../auth/session.ts'
import type { RateLimit } from '../auth/throttle.ts'
import type { Basemap } from '../basemap.ts'
import { HttpError, parseInput } from '../http-errors.ts'
import type { LoadedOverlay } from '../overlays.ts'

/*
 * The city's geography from its own files: overlays (MAP_OVERLAYS_DIR) and basemap tiles (MAP_BASEMAP_FILE). Both
 * change only at a restart, so each answer carries an ETag; overlays are revalidated on every load (a 304 costs
 * nothing), tiles are kept a day (a screen asks for dozens at every pan).
 */
export function geographyRouter(overlays: readonly LoadedOverlay[]): Router {
  const r = Router()
  const list: OverlayListResponse = { overlays: overlays.map((o) => o.summary) }
  const byId = new Map(overlays.map((o) => [o.summary.id, o]))
  r.get('/overlays', (_req, res) => {
    res.set('Cache-Control', 'private, no-cache')
    res.json(list)
  })
  r.get('/overlays/:id', (req, res) => {
    const { id } = parseInput(OverlayIdPath, req.params, 'path')
    const o = byId.get(id)
    if (!o) throw new HttpError(404, `no overlay ${id}`)
    res.set({ 'Cache-Control': 'private, no-cache', ETag: o.etag })
    if (req.fresh) return void res.status(304).end()
    res.type('application/geo+json').send(o.body)
  })
  return r
}

/**
 * The basemap file's tiles, mounted before the API's per-address request limit (API_RATE_LIMIT_PER_MIN) with a
 * limit of their own (TILE_RATE_LIMIT_PER_MIN): a map asks for dozens of tiles at every pan and zoom, and the wall
 * screens of an operations room often reach the server from one NAT address, so counted with the API's requests
 * they would be refused tiles (and then their readings) long before any of them misbehaved. Signed-in viewers only,
 * as before.
 */
export function basemapRouter(basemap: Basemap | undefined, limit: RateLimit, clock: () => number): Router {
  const r = Router()
  const limited: RequestHandler = async (req, res, next) => {
    const wait = await limit.take(`tiles:${clientIp(req)}`, clock())
    if (wait === 0) return next()
    res.set('Retry-After', String(wait))
    next(new HttpError(429, `too many tile requests; try again in ${wait} s`))
  }
  r.get('/basemap/:z/:x/:y', requireRole('viewer'), limited, (req, res) => {
    if (!basemap) throw new HttpError(404, 'no basemap file is configured (MAP_BASEMAP_FILE)')
    const { z, x, y } = parseInput(TilePath, req.params, 'path')
    const tile = basemap.tile(z, x, y)
    if (!tile) throw new HttpError(404, `no tile ${z}/${x}/${y} in the basemap file`)
    // express adds the ETag from the bytes and answers 304 to a matching If-None-Match
    res.set('Cache-Control', 'private, max-age=86400')
    res.type(tile.type).send(tile.data)
  })
  return r
}
