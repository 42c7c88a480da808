import { randomUUID } from 'node:crypto'
import { Router } from 'express'
import type { AgencyKeyStore } from '@mytho/directory'
import { kindOfEntityType, NgsiSubscriptionRequest, parseNgsiEntityId, SMART_DATA_MODELS, type DeviceRegistry, type NgsiSubscription } from '@mytho/schema'
import { HttpError, parseInput } from '../http-errors.ts'
import { agencyKeyOf } from '../sharing/agency-auth.ts'
import { deviceOfEntity } from '../sharing/ngsi-lookup.ts'
import type { NgsiNotifier } from '../sharing/ngsi-notifier.ts'
import { NGSI_PREFIX } from '../sharing/ngsi-problem.ts'
import { parseNgsiQuery, QueryError } from '../sharing/ngsi-q.ts'
import { contextUrl, sendNgsi } from '../sharing/ngsi-respond.ts'

/** Most subscriptions one key holds: each is a queue of deliveries this API keeps. */
export const SUBSCRIPTIONS_PER_KEY = 20

/** The model attributes an entity type has, and `incident` (the device's incident changes). */
function attributeNames(type: string): string[] {
  const kind = kindOfEntityType(type)
  return kind ? [...SMART_DATA_MODELS[kind].attributes.map((a) => a.attribute), 'incident'] : []
}

/**
 * Subscriptions (CIM 009 §6.10/§6.11), each owned by the key that made it: another key neither sees nor deletes it.
 * Only raw-access keys subscribe: a notification carries the reading that triggered it.
 */
export function ngsiSubscriptionsRouter(
  registry: DeviceRegistry,
  keys: () => AgencyKeyStore | undefined,
  notifier: () => NgsiNotifier | undefined,
  clock: () => number,
): Router {
  const r = Router()
  const store = () => {
    const s = keys()
    if (!s) throw new HttpError(503, 'agency keys need DATA_DIR or REDIS_URL (the metadata store)')
    return s
  }

  r.post('/subscriptions', async (req, res) => {
    const key = agencyKeyOf(res)
    if (key.scope.access !== 'raw') throw new HttpError(403, 'subscriptions notify each new reading: this key reads aggregated values only')
    const body = parseInput(NgsiSubscriptionRequest, req.body ?? {}, 'body')
    body.entities.forEach((e, i) => {
      const kind = kindOfEntityType(e.type)
      if (!kind) throw new HttpError(400, `invalid body field entities.${i}.type: ${e.type} is not a type this platform serves`)
      if (!key.scope.kinds.includes(kind)) throw new HttpError(403, `type ${e.type} is outside this key's scope (kinds ${key.scope.kinds.join(', ')})`)
      if (e.id !== undefined) {
        if (parseNgsiEntityId(e.id)?.type !== e.type) throw new HttpError(400, `invalid body field entities.${i}.id: not an entity of type ${e.type}`)
        deviceOfEntity(registry, key, e.id)
      }
    })
    const known = new Set(body.entities.flatMap((e) => attributeNames(e.type)))
    for (const [field, names] of [
      ['watchedAttributes', body.watchedAttributes],
      ['notification.attributes', body.notification.attributes],
    ] as const) {
      const bad = names?.find((n) => !known.has(n) && !['name', 'location', 'areaServed', 'dateObserved', 'alertLevel', 'dangerLevel'].includes(n))
      if (bad !== undefined)
        throw new HttpError(400, `invalid body field ${field}: ${bad} is not an attribute of ${body.entities.map((e) => e.type).join(', ')}`)
    }
    if (body.q !== undefined)
      try {
        parseNgsiQuery(body.q)
      } catch (err) {
        if (err instanceof QueryError) throw new HttpError(400, `invalid body field q: ${err.message}`)
        throw err
      }
    const mine = await store().subscriptions(key.id)
    if (mine.length >= SUBSCRIPTIONS_PER_KEY) throw new HttpError(403, `this key holds ${SUBSCRIPTIONS_PER_KEY} subscriptions already: delete one first`)
    const { '@context': _context, ...rest } = body
    const sub: NgsiSubscription = {
      ...rest,
      id: body.id ?? `urn:ngsi-ld:Subscription:mytho:${randomUUID()}`,
      jsonldContext: body.jsonldContext ?? contextUrl(req),
      isActive: true,
      status: 'active',
    }
    if (!(await store().addSubscription(key.id, sub, clock()))) throw new HttpError(409, `subscription ${sub.id} exists`)
    await notifier()?.reload()
    res
      .status(201)
      .location(`${NGSI_PREFIX}/subscriptions/${encodeURIComponent(sub.id)}`)
      .end()
  })

  r.get('/subscriptions', async (req, res) => {
    const key = agencyKeyOf(res)
    sendNgsi(
      req,
      res,
      (await store().subscriptions(key.id)).map((s) => s.subscription),
    )
  })

  const own = async (keyId: string, id: string) => {
    const found = (await store().subscriptions(keyId)).find((s) => s.subscription.id === id)
    if (!found) throw new HttpError(404, `no subscription ${id}`)
    return found.subscription
  }

  r.get('/subscriptions/:id', async (req, res) => {
    sendNgsi(req, res, await own(agencyKeyOf(res).id, String(req.params['id'])))
  })

  r.delete('/subscriptions/:id', async (req, res) => {
    const key = agencyKeyOf(res)
    if (!(await store().deleteSubscription(key.id, String(req.params['id'])))) throw new HttpError(404, `no subscription ${String(req.params['id'])}`)
    await notifier()?.reload()
    res.status(204).end()
  })
  return r
}
