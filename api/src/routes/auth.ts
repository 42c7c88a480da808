import { Router, type Response } from 'express'
import { LoginRequest, type MeResponse, type SessionResponse } from '@mytho/schema'
import { HttpError, parseInput } from '../http-errors.ts'
import { callerOf, clientIp, CSRF_COOKIE, SESSION_COOKIE, type AuthContext } from '../auth/session.ts'
import type { SignInStats } from '../auth/sign-in-stats.ts'
import { pairKey } from '../auth/throttle.ts'

/** Sign-in, sign-out and who-am-I; the protocol is described in auth/session.ts. `stats`: what sign-in did (metrics). */
export function authRouter(auth: AuthContext | undefined, clock: () => number, sessionsEnded: () => void = () => {}, stats?: SignInStats): Router {
  const r = Router()
  const ctx = () => {
    if (!auth) throw new HttpError(503, 'sign-in is not configured on this API (no operator store)')
    return auth
  }
  const cookie = (res: Response, name: string, value: string, httpOnly: boolean, maxAgeMs: number) =>
    res.cookie(name, value, { httpOnly, sameSite: 'strict', secure: auth?.secureCookies ?? false, path: '/', maxAge: maxAgeMs })

  r.post('/auth/login', async (req, res) => {
    // Counted by the answer sent, whichever way the handler ends (a thrown HttpError included).
    if (stats) res.once('finish', () => stats.answered(res.statusCode))
    const a = ctx()
    // JSON only: a cross-site HTML form cannot send it without a CORS preflight (login CSRF).
    if (!req.is('application/json')) throw new HttpError(415, 'send the credentials as application/json')
    const body = parseInput(LoginRequest, req.body ?? {}, 'body')
    const ip = clientIp(req)
    // Held up (this name from this address, or this address over any names: auth/throttle.ts) before the password is
    // looked at, so guessing on learns nothing. Let through, the attempt already counts as a failure.
    const wait = await a.throttle.attempt(body.username, ip, clock())
    if (wait > 0) {
      stats?.heldUp(pairKey(body.username, ip))
      res.set('Retry-After', String(wait))
      throw new HttpError(429, `too many failed sign-ins; try again in ${wait} s`)
    }
    stats?.letThrough(pairKey(body.username, ip))
    const who = await a.operators.verify(body.username, body.password)
    if (!who) {
      await a.operators.audit({ actor: body.username, action: 'sign-in-failed', ip }, clock())
      throw new HttpError(401, 'wrong user name or password')
    }
    await a.throttle.succeeded(body.username, ip, clock())
    const { token, session } = await a.operators.openSession(who.username, a.sessionTtlMs, clock())
    await a.operators.audit({ actor: who.username, action: 'sign-in', ip }, clock())
    cookie(res, SESSION_COOKIE, token, true, a.sessionTtlMs)
    cookie(res, CSRF_COOKIE, session.csrfToken, false, a.sessionTtlMs)
    const out: SessionResponse = { username: session.username, role: session.role, csrfToken: session.csrfToken, expiresAt: session.expiresAt }
    res.json(out)
  })

  r.post('/auth/logout', async (req, res) => {
    const caller = callerOf(res)
    if (auth && caller.token && caller.username) {
      await auth.operators.closeSession(caller.token)
      await auth.operators.audit({ actor: caller.username, action: 'sign-out', ip: clientIp(req) }, clock())
      // Its live sockets end with it.
      sessionsEnded()
    }
    res.clearCookie(SESSION_COOKIE, { path: '/' })
    res.clearCookie(CSRF_COOKIE, { path: '/' })
    res.json({ signedIn: false, username: null, role: auth ? (auth.anonymousRole ?? null) : 'operator', csrfToken: null, expiresAt: null } satisfies MeResponse)
  })

  r.get('/auth/me', (_req, res) => {
    const c = callerOf(res)
    const out: MeResponse = c.session
      ? { signedIn: true, username: c.session.username, role: c.session.role, csrfToken: c.session.csrfToken, expiresAt: c.session.expiresAt }
      : { signedIn: false, username: null, role: c.role ?? null, csrfToken: null, expiresAt: null }
    res.json(out)
  })
  return r
}
