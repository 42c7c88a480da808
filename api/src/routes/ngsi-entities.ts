import { Router } from 'express'
import { kindOfEntityType, ngsiEntityId, NgsiEntitiesQuery, SMART_DATA_MODELS, toNgsiEntity, type DeviceRegistry, type NgsiForm } from '@mytho/schema'
import type { ReadingStore } from '@mytho/storage'
import { HttpError, parseInput } from '../http-errors.ts'
import { agencyKeyOf, inScope } from '../sharing/agency-auth.ts'
import { newestObservations } from '../sharing/ngsi-data.ts'
import { compileIdPattern, IdPatternError, matchIdPattern } from '../sharing/ngsi-id-pattern.ts'
import { parseGeoQuery, type GeoFilter } from '../sharing/ngsi-geo.ts'
import { deviceOfEntity } from '../sharing/ngsi-lookup.ts'
import { parseNgsiQuery, QueryError, type NgsiQuery } from '../sharing/ngsi-q.ts'
import { sendNgsi } from '../sharing/ngsi-respond.ts'

/** The result count header of a query with count=true (CIM 009 §6.3.13). */
export const RESULTS_COUNT_HEADER = 'NGSILD-Results-Count'

const formOf = (q: { options?: string[] | undefined; format?: string | undefined }): NgsiForm =>
  q.options?.includes('keyValues') || q.format === 'keyValues' || q.format === 'simplified' ? 'keyValues' : 'normalized'

/** A query-language or geo-query problem, as the 400 that names the parameter. */
function parsed<T>(param: string, f: () => T): T {
  try {
    return f()
  } catch (err) {
    if (err instanceof QueryError) throw new HttpError(400, `invalid query parameter ${param}: ${err.message}`)
    throw err
  }
}

function parsedPattern<T>(f: () => T): T {
  try {
    return f()
  } catch (err) {
    if (err instanceof IdPatternError) throw new HttpError(400, `invalid query parameter idPattern: ${err.message}`)
    throw err
  }
}

/** GET /entities (query) and GET /entities/{id} (retrieve), CIM 009 §6.4 and §6.5: the devices of a key's scope as their models' entities. */
export function ngsiEntitiesRouter(registry: DeviceRegistry, store: ReadingStore, clock: () => number): Router {
  const r = Router()

  r.get('/entities', async (req, res) => {
    const q = parseInput(NgsiEntitiesQuery, req.query, 'query')
    const key = agencyKeyOf(res)
    let devices = registry.devices.filter((d) => inScope(key, d))
    if (q.type) {
      for (const t of q.type) {
        const kind = kindOfEntityType(t)
        // A type of ours the key was not given is refused (it asked for what it may not read); an unknown type has no entities.
        if (kind && !key.scope.kinds.includes(kind)) throw new HttpError(403, `type ${t} is outside this key's scope (kinds ${key.scope.kinds.join(', ')})`)
      }
      devices = devices.filter((d) => q.type!.includes(SMART_DATA_MODELS[d.kind].type))
    }
    if (q.id) devices = devices.filter((d) => q.id!.includes(ngsiEntityId(d.kind, d.id)))
    else if (q.idPattern !== undefined) {
      // A caller's regular expression runs on our CPU: under a time limit for the whole request (ngsi-id-pattern.ts).
      const hits = parsedPattern(() =>
        matchIdPattern(
          compileIdPattern(q.idPattern!),
          devices.map((d) => ngsiEntityId(d.kind, d.id)),
        ),
      )
      devices = devices.filter((_d, i) => hits[i])
    }
    if (q.georel !== undefined) {
      const near: GeoFilter = parsed('georel', () => parseGeoQuery(q.georel!, q.geometry, q.coordinates))
      devices = devices.filter((d) => near(d.lon, d.lat))
    }
    const obs = await newestObservations(store, devices, key.scope.access, clock())
    if (q.q !== undefined) {
      const match: NgsiQuery = parsed('q', () => parseNgsiQuery(q.q!))
      devices = devices.filter((d) => match(toNgsiEntity(d, obs.get(d.id), 'keyValues')))
    }
    const entities = devices.map((d) => ({ id: ngsiEntityId(d.kind, d.id), d })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    if (q.count === 'true') res.set(RESULTS_COUNT_HEADER, String(entities.length))
    const page = entities.slice(q.offset, q.offset + q.limit)
    sendNgsi(
      req,
      res,
      page.map(({ d }) => toNgsiEntity(d, obs.get(d.id), formOf(q), q.attrs)),
    )
  })

  r.get('/entities/:id', async (req, res) => {
    const key = agencyKeyOf(res)
    const device = deviceOfEntity(registry, key, String(req.params['id']))
    const q = parseInput(NgsiEntitiesQuery.pick({ attrs: true, options: true, format: true }), req.query, 'query')
    const obs = await newestObservations(store, [device], key.scope.access, clock())
    sendNgsi(req, res, toNgsiEntity(device, obs.get(device.id), formOf(q), q.attrs))
  })

  return r
}
