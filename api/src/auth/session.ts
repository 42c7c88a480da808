import type { IncomingMessage } from 'node:http'
import type { Request, RequestHandler, Response } from 'express'
import { anonymousActor, type Role } from '@mytho/schema'
import { HttpError } from '../http-errors.ts'
import type { OperatorStore, Session } from '@mytho/directory'
import { atLeast } from './roles.ts'
import type { LoginThrottle } from './throttle.ts'

/*
 * Sign-in protocol (for the map and scripts):
 *   POST /api/v1/auth/login {username, password} (Content-Type: application/json) →
 *     Set-Cookie mytho_session=…; HttpOnly; SameSite=Strict; Path=/  (the session; JavaScript never sees it)
 *     Set-Cookie mytho_csrf=…; SameSite=Strict; Path=/              (readable, so a reloaded page finds it)
 *     body {username, role, csrfToken, expiresAt}
 *   every POST while signed in sends header X-CSRF-Token: <csrfToken>; a missing or wrong one is 403.
 *   POST /api/v1/auth/logout ends the session; GET /api/v1/auth/me says who is signed in (401 if nobody).
 * SameSite=Strict keeps the cookie off cross-site requests; the CSRF token is the second lock for the
 * browsers and proxies where SameSite does not hold.
 */
export const SESSION_COOKIE = 'mytho_session'
export const CSRF_COOKIE = 'mytho_csrf'
export const CSRF_HEADER = 'x-csrf-token'

export interface AuthContext {
  operators: OperatorStore
  throttle: LoginThrottle
  /** Role of a request without a session: undefined means sign-in required (AUTH_DISABLED=true makes it operator). */
  anonymousRole: Role | undefined
  sessionTtlMs: number
  /** Secure cookies: on under HTTPS or behind a TLS proxy. */
  secureCookies: boolean
}

/** Who is calling: a signed-in operator, or anonymous with the role the configuration gives anonymous callers. */
export interface Caller {
  username: string | undefined
  role: Role | undefined
  session?: Session
  token?: string
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq < 1) continue
    const name = part.slice(0, eq).trim()
    try {
      out[name] = decodeURIComponent(part.slice(eq + 1).trim())
    } catch {
      // A malformed cookie is no cookie.
    }
  }
  return out
}

/**
 * Without an AuthContext (createApi without `auth`: tests and embedders that predate sign-in) every
 * caller is an anonymous operator, as before issue #6. The entry points always pass one.
 */
export async function callerFrom(req: IncomingMessage, auth: AuthContext | undefined, now: number): Promise<Caller> {
  if (!auth) return { username: undefined, role: 'operator' }
  const token = parseCookies(req.headers.cookie)[SESSION_COOKIE]
  const session = token ? await auth.operators.session(token, now) : undefined
  if (session && token) return { username: session.username, role: session.role, session, token }
  return { username: undefined, role: auth.anonymousRole }
}

export const callerOf = (res: Response): Caller => (res.locals as { caller: Caller }).caller

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** Finds the caller once per request; checks the CSRF token of a signed-in caller's state-changing request. */
export function identify(auth: AuthContext | undefined, clock: () => number): RequestHandler {
  return async (req, res, next) => {
    const caller = await callerFrom(req, auth, clock())
    ;(res.locals as { caller: Caller }).caller = caller
    if (caller.session && !SAFE_METHODS.has(req.method) && req.path !== '/auth/login' && req.get(CSRF_HEADER) !== caller.session.csrfToken)
      return next(new HttpError(403, `missing or wrong ${CSRF_HEADER} header (the csrfToken from sign-in)`))
    next()
  }
}

export function requireRole(need: Role): RequestHandler {
  return (_req, res, next) => {
    const caller = callerOf(res)
    if (caller.role === undefined) return next(new HttpError(401, 'sign-in required'))
    if (!atLeast(caller.role, need)) return next(new HttpError(403, `needs role ${need}; ${caller.username ?? 'anonymous'} is ${caller.role}`))
    next()
  }
}

export const clientIp = (req: Request): string => req.ip ?? req.socket.remoteAddress ?? 'unknown'

/**
 * Who acts in a request: the signed-in operator, else `anonymous@ADDRESS` (the client address, from X-Forwarded-For
 * with BEHIND_PROXY), which no operator name can be. A name an anonymous caller gives is theirs to claim, not ours to
 * record as the actor (issue #15).
 */
export const actorOf = (req: Request, res: Response): { actor: string; anonymous: boolean } => {
  const username = callerOf(res).username
  return username !== undefined ? { actor: username, anonymous: false } : { actor: anonymousActor(clientIp(req)), anonymous: true }
}
