import { createHash } from 'node:crypto'
import type { Request, RequestHandler, Response } from 'express'
import { AGENCY_KEY_PREFIX, type AgencyKeyStore } from '@mytho/directory'
import type { AgencyKeyView, DeviceRecord } from '@mytho/schema'
import type { Logger } from '@mytho/runtime'
import { SESSION_COOKIE, clientIp, parseCookies } from '../auth/session.ts'
import type { LoginThrottle, RateLimit } from '../auth/throttle.ts'
import { HttpError, clip } from '../http-errors.ts'

/*
 * Who may use the sharing routes (issue #22): an agency key, and nothing else. The key comes as
 * `Authorization: Bearer mak_…` or in `X-Auth-Token` (the header FIWARE context brokers behind Keyrock take).
 * An operator's session cookie is refused here, and an agency key is refused on the operator routes
 * (refuseAgencyKeys), so neither kind of credential ever reaches the other's data by accident of configuration
 * (AUTH_DISABLED makes anonymous callers operators on /api/v1, never agencies here).
 */

/** The key a request presents, if any. */
export function presentedKey(req: Request): string | undefined {
  const auth = req.get('authorization')
  const bearer = auth !== undefined ? /^Bearer\s+(\S+)$/i.exec(auth)?.[1] : undefined
  return bearer ?? req.get('x-auth-token') ?? undefined
}

export const agencyKeyOf = (res: Response): AgencyKeyView => (res.locals as { agencyKey: AgencyKeyView }).agencyKey

/** Whether a key's scope covers a device: its kind and its ward were both given. */
export const inScope = (key: AgencyKeyView, device: DeviceRecord): boolean => key.scope.kinds.includes(device.kind) && key.scope.wards.includes(device.ward)

/** Keys that authenticated on this node lately, by hash, kept to pass an address's bad-key lock (most recent kept). */
export const KNOWN_GOOD_KEYS_KEPT = 10_000
const KNOWN_GOOD_MS = 24 * 3_600_000
/** The throttle's "user name" for bad keys: one count per address (auth/throttle.ts counts pairs and addresses). */
const BAD_KEY = 'agency-key'

export interface AgencyAuthDeps {
  keys: () => AgencyKeyStore | undefined
  /** The key's own rate (its scope's ratePerMinute), counted where the API's other limits are. */
  rateFor: (perMinute: number) => RateLimit
  /** Unknown, revoked or expired keys per client address (throttle-from-config.ts AGENCY_KEY_FAILURES a minute). */
  failures: LoginThrottle
  clock: () => number
  logger: Logger
}

/**
 * Authenticates the agency key, refuses operator sessions, applies the key's rate, and counts every request made
 * with a valid key in its use log (refused ones too: a key hammering past its rate is something an admin should see).
 *
 * Before the key is looked up, its client address is checked against its bad keys (the sign-in throttle's machinery,
 * on Redis in a cluster): past AGENCY_KEY_FAILURES unknown, revoked or expired keys without a quiet minute, the
 * address gets 429 with Retry-After and the store is not asked, so guessing keys costs the API a counter, not a
 * lookup. Like a sign-in, a key of unknown standing is counted as a failure before the lookup (parallel guesses
 * cannot slip in together) and given back when it proves valid. A key that authenticated on this node in the last
 * day skips the address count altogether: an agency behind the same NAT address as a guesser is governed by its
 * own rate only. A valid key never used on this node, presented from a locked address, waits for the lock (≤ 1 min).
 */
export function agencyAuth(deps: AgencyAuthDeps): RequestHandler {
  const knownGood = new Map<string, number>()
  const isKnownGood = (hash: string, now: number) => {
    const at = knownGood.get(hash)
    return at !== undefined && now - at < KNOWN_GOOD_MS
  }
  const rememberGood = (hash: string, now: number) => {
    knownGood.delete(hash)
    knownGood.set(hash, now)
    while (knownGood.size > KNOWN_GOOD_KEYS_KEPT) knownGood.delete(knownGood.keys().next().value!)
  }
  const tooMany = (res: Response, wait: number) => {
    res.set('Retry-After', String(wait))
    return new HttpError(429, `too many unknown, revoked or expired agency keys from this address; try again in ${wait} s`)
  }
  return async (req, res, next) => {
    const store = deps.keys()
    if (!store) return next(new HttpError(503, 'agency keys need DATA_DIR or REDIS_URL (the metadata store)'))
    if (parseCookies(req.headers.cookie)[SESSION_COOKIE] !== undefined)
      return next(new HttpError(403, 'operator sessions do not reach the sharing interface: send an agency key (Authorization: Bearer mak_…)'))
    const presented = presentedKey(req)
    if (presented === undefined) {
      res.set('WWW-Authenticate', 'Bearer realm="mytho-ngsi-ld"')
      return next(new HttpError(401, 'an agency key is required: Authorization: Bearer mak_… (an admin issues keys)'))
    }
    const now = deps.clock()
    const ip = clientIp(req)
    // Not the store's hash: only this node's memory of which presented strings proved good.
    const hash = createHash('sha256').update(presented).digest('base64url')
    const known = isKnownGood(hash, now)
    if (!known) {
      const wait = await deps.failures.attempt(BAD_KEY, ip, now)
      if (wait > 0) return next(tooMany(res, wait))
    }
    const key = await store.authenticate(presented, now)
    if (!key) {
      if (known) {
        // Revoked or expired since it last worked here: counted from now on like any other bad key.
        knownGood.delete(hash)
        const wait = await deps.failures.attempt(BAD_KEY, ip, now)
        if (wait > 0) return next(tooMany(res, wait))
      }
      res.set('WWW-Authenticate', 'Bearer realm="mytho-ngsi-ld", error="invalid_token"')
      return next(new HttpError(401, 'the agency key is unknown, revoked or expired'))
    }
    if (!known) await deps.failures.succeeded(BAD_KEY, ip, now)
    rememberGood(hash, now)
    ;(res.locals as { agencyKey: AgencyKeyView }).agencyKey = key
    res.on('finish', () => {
      const use = { ts: now, method: req.method, path: clip(req.originalUrl, 500), status: res.statusCode, ip: clientIp(req) }
      store.recordUse(key.id, use).catch((err: unknown) => deps.logger.warn('agency key use not recorded', { err, keyId: key.id }))
    })
    const wait = await deps.rateFor(key.scope.ratePerMinute).take(`agency:${key.id}`, now)
    if (wait > 0) {
      res.set('Retry-After', String(wait))
      return next(new HttpError(429, `this key may make ${key.scope.ratePerMinute} requests a minute; try again in ${wait} s`))
    }
    next()
  }
}

/** On the operator routes: an agency key is not an operator's credential, whatever else the request carries. */
export const refuseAgencyKeys: RequestHandler = (req, _res, next) => {
  const k = presentedKey(req)
  if (k?.startsWith(AGENCY_KEY_PREFIX)) return next(new HttpError(403, 'agency keys read the sharing interface (/ngsi-ld/v1) only'))
  next()
}
