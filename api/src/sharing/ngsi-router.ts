import express, { Router } from 'express'
import type { AgencyKeyStore } from '@mytho/directory'
import type { Logger } from '@mytho/runtime'
import { ngsiContextDocument, type DeviceRegistry } from '@mytho/schema'
import type { ReadingStore } from '@mytho/storage'
import type { LoginThrottle, RateLimit } from '../auth/throttle.ts'
import { HttpError } from '../http-errors.ts'
import { ngsiEntitiesRouter } from '../routes/ngsi-entities.ts'
import { ngsiSubscriptionsRouter } from '../routes/ngsi-subscriptions.ts'
import { ngsiTemporalRouter } from '../routes/ngsi-temporal.ts'
import { agencyAuth } from './agency-auth.ts'
import type { NgsiNotifier } from './ngsi-notifier.ts'
import { CONTEXT_PATH } from './ngsi-respond.ts'

export interface NgsiRouterParts {
  registry: DeviceRegistry
  store: ReadingStore
  keys: () => AgencyKeyStore | undefined
  notifier: () => NgsiNotifier | undefined
  rateFor: (perMinute: number) => RateLimit
  /** Bad keys per client address, counted before a key is looked up (agency-auth.ts). */
  keyFailures: LoginThrottle
  clock: () => number
  logger: Logger
}

const isSubscriptions = (path: string) => path === '/subscriptions' || path.startsWith('/subscriptions/')

/**
 * The sharing interface, mounted at /ngsi-ld/v1 (issue #22): the @context for anyone (a JSON-LD processor fetches it
 * without credentials), everything else for agency keys only. Read-only: a key's only writes are its own subscriptions.
 */
export function ngsiRouter(parts: NgsiRouterParts): Router {
  const r = Router()
  r.get(CONTEXT_PATH, (_req, res) => {
    res.type('application/ld+json').send(JSON.stringify(ngsiContextDocument()))
  })
  r.use(agencyAuth({ keys: parts.keys, rateFor: parts.rateFor, failures: parts.keyFailures, clock: parts.clock, logger: parts.logger }))
  r.use((req, _res, next) =>
    req.method === 'GET' || req.method === 'HEAD' || isSubscriptions(req.path)
      ? next()
      : next(new HttpError(403, `agency keys are read-only: ${req.method} ${req.path} is refused`)),
  )
  r.use(express.json({ limit: '16kb', type: ['application/json', 'application/ld+json'] }))
  r.use(ngsiEntitiesRouter(parts.registry, parts.store, parts.clock))
  r.use(ngsiTemporalRouter(parts.registry, parts.store, parts.clock))
  r.use(ngsiSubscriptionsRouter(parts.registry, parts.keys, parts.notifier, parts.clock))
  return r
}
