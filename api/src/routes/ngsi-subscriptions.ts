import { randomUUID } from 'node:crypto'
import type { Request } from 'express'
import { Router } from 'express'
import type { AgencyKeyStore } from '@mytho/directory'
import {
  kindOfEntityType,
  ngsiEntityId,
  NgsiSubscriptionPatch,
  NgsiSubscriptionRequest,
  ngsiSubscriptionStatus,
  parseNgsiEntityId,
  SMART_DATA_MODELS,
  type AgencyKeyView,
  type DeviceRegistry,
  type NgsiSubscription,
} from '@mytho/schema'
import { HttpError, parseInput } from '../http-errors.ts'
import { agencyKeyOf } from '../sharing/agency-auth.ts'
import { compileIdPattern, IdPatternError, matchIdPattern } from '../sharing/ngsi-id-pattern.ts'
import { deviceOfEntity } from '../sharing/ngsi-lookup.ts'
import type { NgsiNotifier } from '../sharing/ngsi-notifier.ts'
import { NGSI_PREFIX } from '../sharing/ngsi-problem.ts'
import { parseNgsiQuery, QueryError } from '../sharing/ngsi-q.ts'
import { contextUrl, sendNgsi } from '../sharing/ngsi-respond.ts'

/** Most subscriptions one key holds: each is a queue of deliveries this API keeps. */
export const SUBSCRIPTIONS_PER_KEY = 20

/** Attributes every entity has besides its model's. */
const COMMON_ATTRIBUTES = ['name', 'location', 'areaServed', 'dateObserved', 'alertLevel', 'dangerLevel']

/** The model attributes an entity type has, and `incident` (the device's incident changes). */
function attributeNames(type: string): string[] {
  const kind = kindOfEntityType(type)
  return kind ? [...SMART_DATA_MODELS[kind].attributes.map((a) => a.attribute), 'incident'] : []
}

/**
 * What POST and PATCH both check, on the whole subscription (a PATCH's merge result too), against the key as it is
 * now: its types and entities in the key's scope, attribute names of those types, q and idPattern that parse,
 * expiresAt in the future. `now` is the API's clock.
 */
function checkSubscription(registry: DeviceRegistry, key: AgencyKeyView, body: NgsiSubscriptionRequest, now: number): void {
  body.entities.forEach((e, i) => {
    const kind = kindOfEntityType(e.type)
    if (!kind) throw new HttpError(400, `invalid body field entities.${i}.type: ${e.type} is not a type this platform serves`)
    if (!key.scope.kinds.includes(kind)) throw new HttpError(403, `type ${e.type} is outside this key's scope (kinds ${key.scope.kinds.join(', ')})`)
    if (e.id !== undefined) {
      if (parseNgsiEntityId(e.id)?.type !== e.type) throw new HttpError(400, `invalid body field entities.${i}.id: not an entity of type ${e.type}`)
      deviceOfEntity(registry, key, e.id)
    } else if (e.idPattern !== undefined) {
      // Tried once on every entity of the type now, within the time limit: a pattern too costly to run is refused here
      // rather than found out while notifying (ngsi-id-pattern.ts).
      try {
        matchIdPattern(
          compileIdPattern(e.idPattern),
          registry.devices.filter((d) => d.kind === kind).map((d) => ngsiEntityId(d.kind, d.id)),
        )
      } catch (err) {
        if (err instanceof IdPatternError) throw new HttpError(400, `invalid body field entities.${i}.idPattern: ${err.message}`)
        throw err
      }
    }
  })
  const known = new Set(body.entities.flatMap((e) => attributeNames(e.type)))
  for (const [field, names] of [
    ['watchedAttributes', body.watchedAttributes],
    ['notification.attributes', body.notification.attributes],
  ] as const) {
    const bad = names?.find((n) => !known.has(n) && !COMMON_ATTRIBUTES.includes(n))
    if (bad !== undefined) throw new HttpError(400, `invalid body field ${field}: ${bad} is not an attribute of ${body.entities.map((e) => e.type).join(', ')}`)
  }
  if (body.q !== undefined)
    try {
      parseNgsiQuery(body.q)
    } catch (err) {
      if (err instanceof QueryError) throw new HttpError(400, `invalid body field q: ${err.message}`)
      throw err
    }
  if (body.expiresAt !== undefined && Date.parse(body.expiresAt) <= now)
    throw new HttpError(400, `invalid body field expiresAt: ${body.expiresAt} is not in the future`)
}

/** A PATCH fragment merged into the stored subscription: given members replace, null removes, notification member-wise. */
function merge(stored: NgsiSubscription, patch: NgsiSubscriptionPatch): Record<string, unknown> {
  const { '@context': _context, notification, ...members } = patch
  const out: Record<string, unknown> = { ...stored }
  for (const [k, v] of Object.entries(members)) {
    if (v === undefined) continue
    if (v === null) delete out[k]
    else out[k] = v
  }
  if (notification !== undefined) {
    const n: Record<string, unknown> = { ...stored.notification }
    for (const [k, v] of Object.entries(notification)) {
      if (v === undefined) continue
      if (v === null) delete n[k]
      else n[k] = v
    }
    out['notification'] = n
  }
  return out
}

/**
 * Subscriptions (CIM 009 §6.10/§6.11), each owned by the key that made it: another key neither sees, changes nor
 * deletes it (404, as for one that does not exist). Only raw-access keys subscribe: a notification carries the
 * reading that triggered it.
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
  const rawOnly = (key: AgencyKeyView) => {
    if (key.scope.access !== 'raw') throw new HttpError(403, 'subscriptions notify each new reading: this key reads aggregated values only')
  }
  /** As listed: the status as of now (an expiry passes without anyone writing it down). */
  const shown = (s: NgsiSubscription, now: number): NgsiSubscription => ({ ...s, status: ngsiSubscriptionStatus(s, now) })
  const contextOf = (req: Request, body: { jsonldContext?: string | undefined }) => body.jsonldContext ?? contextUrl(req)

  r.post('/subscriptions', async (req, res) => {
    const key = agencyKeyOf(res)
    rawOnly(key)
    const now = clock()
    const body = parseInput(NgsiSubscriptionRequest, req.body ?? {}, 'body')
    checkSubscription(registry, key, body, now)
    const mine = await store().subscriptions(key.id)
    if (mine.length >= SUBSCRIPTIONS_PER_KEY) throw new HttpError(403, `this key holds ${SUBSCRIPTIONS_PER_KEY} subscriptions already: delete one first`)
    const { '@context': _context, ...rest } = body
    const isActive = body.isActive ?? true
    const sub: NgsiSubscription = {
      ...rest,
      id: body.id ?? `urn:ngsi-ld:Subscription:mytho:${randomUUID()}`,
      jsonldContext: contextOf(req, body),
      isActive,
      status: ngsiSubscriptionStatus({ isActive, expiresAt: body.expiresAt }, now),
    }
    if (!(await store().addSubscription(key.id, sub, now))) throw new HttpError(409, `subscription ${sub.id} exists`)
    await notifier()?.reload()
    res
      .status(201)
      .location(`${NGSI_PREFIX}/subscriptions/${encodeURIComponent(sub.id)}`)
      .end()
  })

  r.get('/subscriptions', async (req, res) => {
    const key = agencyKeyOf(res)
    const now = clock()
    sendNgsi(
      req,
      res,
      (await store().subscriptions(key.id)).map((s) => shown(s.subscription, now)),
    )
  })

  const own = async (keyId: string, id: string) => {
    const found = (await store().subscriptions(keyId)).find((s) => s.subscription.id === id)
    if (!found) throw new HttpError(404, `no subscription ${id}`)
    return found.subscription
  }

  r.get('/subscriptions/:id', async (req, res) => {
    sendNgsi(req, res, shown(await own(agencyKeyOf(res).id, String(req.params['id'])), clock()))
  })

  r.patch('/subscriptions/:id', async (req, res) => {
    const key = agencyKeyOf(res)
    const id = String(req.params['id'])
    const stored = await own(key.id, id)
    // After the owner check: another key's subscription is a 404 whatever its body, as on GET and DELETE.
    rawOnly(key)
    const now = clock()
    const patch = parseInput(NgsiSubscriptionPatch, req.body ?? {}, 'body')
    if (Object.keys(patch).filter((k) => k !== 'type' && k !== '@context').length === 0)
      throw new HttpError(400, 'invalid body: no member to change (entities, watchedAttributes, q, notification, expiresAt, throttling, isActive, …)')
    // The merge is checked as a new subscription would be, against the key's scope as it is now.
    const merged = parseInput(NgsiSubscriptionRequest, merge(stored, patch), 'body')
    checkSubscription(registry, key, merged, now)
    const { '@context': _context, ...rest } = merged
    const isActive = merged.isActive ?? true
    const sub: NgsiSubscription = {
      ...rest,
      id: stored.id,
      jsonldContext: merged.jsonldContext ?? stored.jsonldContext ?? contextOf(req, merged),
      isActive,
      status: ngsiSubscriptionStatus({ isActive, expiresAt: merged.expiresAt }, now),
    }
    if (!(await store().updateSubscription(key.id, sub))) throw new HttpError(404, `no subscription ${id}`)
    await notifier()?.reload()
    res.status(204).end()
  })

  r.delete('/subscriptions/:id', async (req, res) => {
    const key = agencyKeyOf(res)
    if (!(await store().deleteSubscription(key.id, String(req.params['id'])))) throw new HttpError(404, `no subscription ${String(req.params['id'])}`)
    await notifier()?.reload()
    res.status(204).end()
  })
  return r
}
