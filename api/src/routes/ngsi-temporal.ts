import { Router } from 'express'
import { HISTORY_MAX_RANGE_MS, ngsiAggrPeriods, ngsiEntityId, NgsiTemporalQuery, SMART_DATA_MODELS, type NgsiAttributeMapping } from '@mytho/schema'
import type { DeviceRegistry } from '@mytho/schema'
import type { ReadingStore } from '@mytho/storage'
import { HttpError, parseInput } from '../http-errors.ts'
import { agencyKeyOf } from '../sharing/agency-auth.ts'
import { ngsiAggrMethodNames, temporalEntity, type AggrMethod } from '../sharing/ngsi-data.ts'
import { deviceOfEntity } from '../sharing/ngsi-lookup.ts'
import { sendNgsi } from '../sharing/ngsi-respond.ts'

const DAY_MS = 86_400_000

/** The [from, to) a temporal query asks for (ms); the last 24 h when it names no time. */
function rangeOf(q: NgsiTemporalQuery, now: number): { from: number; to: number } {
  const at = q.timeAt === undefined ? undefined : Date.parse(q.timeAt)
  const end = q.endTimeAt === undefined ? undefined : Date.parse(q.endTimeAt)
  switch (q.timerel) {
    case 'after':
      if (at === undefined) throw new HttpError(400, 'invalid query parameter timeAt: required with timerel=after')
      return { from: at, to: now }
    case 'before':
      if (at === undefined) throw new HttpError(400, 'invalid query parameter timeAt: required with timerel=before')
      return { from: at - DAY_MS, to: at }
    case 'between': {
      const to = end ?? now
      return { from: at ?? to - DAY_MS, to }
    }
  }
}

/**
 * GET /temporal/entities/{id} (CIM 009 §6.19): an entity's attributes over a time range, raw (each reading; a
 * raw-access key only) or aggregated from the roll-ups (options=aggregatedValues, aggrMethods avg,min,max,totalCount,
 * aggrPeriodDuration PT1M/PT5M/PT1H/P1D; an aggregated-only key at least PT1H, so it never sees a single reading).
 */
export function ngsiTemporalRouter(registry: DeviceRegistry, store: ReadingStore, clock: () => number): Router {
  const r = Router()
  r.get('/temporal/entities/:id', async (req, res) => {
    const key = agencyKeyOf(res)
    const device = deviceOfEntity(registry, key, String(req.params['id']))
    const q = parseInput(NgsiTemporalQuery, req.query, 'query')
    const { from, to } = rangeOf(q, clock())
    if (from >= to) throw new HttpError(400, 'invalid query parameter timeAt: must be before endTimeAt (or now)')
    const aggregated = q.options?.includes('aggregatedValues') || q.format === 'aggregatedValues'
    const period = q.aggrPeriodDuration ?? 'PT1H'
    const window = ngsiAggrPeriods[period]
    if (key.scope.access === 'aggregated') {
      if (!aggregated) throw new HttpError(403, 'this key reads aggregated values only: add options=aggregatedValues&aggrMethods=avg&aggrPeriodDuration=PT1H')
      if (window === '1m' || window === '5m') throw new HttpError(403, `this key reads aggregated values only, over PT1H or P1D, not ${period}`)
    }
    const methods = (q.aggrMethods ?? [...ngsiAggrMethodNames]) as AggrMethod[]
    const bad = methods.find((m) => !(ngsiAggrMethodNames as readonly string[]).includes(m))
    if (bad !== undefined) throw new HttpError(400, `invalid query parameter aggrMethods: ${bad} is not one of ${ngsiAggrMethodNames.join(', ')}`)
    const max = HISTORY_MAX_RANGE_MS[aggregated ? window : 'raw']
    if (to - from > max) throw new HttpError(400, `invalid query parameter timeAt: at most ${max / DAY_MS} days ${aggregated ? `at ${period}` : 'raw'}`)
    const model = SMART_DATA_MODELS[device.kind]
    const attributes = (model.attributes as readonly NgsiAttributeMapping[]).filter((a) => q.attrs === undefined || q.attrs.includes(a.attribute))
    const temporalValues = q.options?.includes('temporalValues') || q.format === 'temporalValues'
    const entity = await temporalEntity(
      store,
      {
        device,
        attributes,
        from,
        to,
        mode: aggregated ? { window, methods } : { raw: temporalValues ? 'temporalValues' : 'normalized' },
        lastN: q.lastN,
      },
      { id: ngsiEntityId(device.kind, device.id), type: model.type },
    )
    sendNgsi(req, res, entity)
  })
  return r
}
