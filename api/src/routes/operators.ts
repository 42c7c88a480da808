import { Router, type Request, type Response } from 'express'
import {
  AuditListParams,
  OperatorCreateRequest,
  OperatorNamePath,
  OperatorPasswordRequest,
  OperatorRoleRequest,
  passwordProblem,
  PasswordChangeRequest,
  type AuditAction,
  type OperatorView,
} from '@mytho/schema'
import type { GuardedChange, OperatorStore } from '@mytho/directory'
import { HttpError, parseInput } from '../http-errors.ts'
import { callerOf, clientIp, requireRole, type AuthContext } from '../auth/session.ts'

/** The user name rule of the password policy needs the name, which the reset's body does not carry. */
function checkNotUsername(password: string, username: string): void {
  const problem = passwordProblem(password, username)
  if (problem) throw new HttpError(400, `invalid body field password: ${problem}`)
}

/** A change refused because it would leave no enabled admin, or aimed at nobody. */
function settle(result: GuardedChange, username: string, what: string): void {
  if (result === 'last-admin') throw new HttpError(409, `${username} is the last enabled admin and cannot be ${what}: make another operator admin first`)
  if (!result) throw new HttpError(404, `no operator ${username}`)
}

/**
 * Admins manage operators and browse the audit log; any signed-in operator changes their own password. Every change
 * is audited (actor, action, target). Ending sessions (disable, a new password) also runs `sessionsEnded`, which drops
 * the live sockets those sessions held, on every node.
 */
export function operatorsRouter(auth: AuthContext | undefined, clock: () => number, sessionsEnded: () => void = () => {}): Router {
  const r = Router()
  const ops = () => {
    if (!auth) throw new HttpError(503, 'operators are not configured on this API (no operator store)')
    return auth.operators
  }
  const admin = requireRole('admin')
  const audit = (req: Request, res: Response, action: AuditAction, target: string, detail?: unknown) =>
    ops().audit({ actor: callerOf(res).username ?? 'anonymous', action, target, detail, ip: clientIp(req) }, clock())
  const viewOf = async (store: OperatorStore, username: string): Promise<OperatorView | undefined> => (await store.list()).find((o) => o.username === username)

  r.get('/operators', admin, async (_req, res) => {
    res.json(await ops().list())
  })

  r.post('/operators', admin, async (req, res) => {
    const body = parseInput(OperatorCreateRequest, req.body ?? {}, 'body')
    const store = ops()
    if (!(await store.create(body.username, body.password, body.role, clock()))) throw new HttpError(409, `operator ${body.username} exists`)
    await audit(req, res, 'operator-create', body.username, { role: body.role })
    res.status(201).json(await viewOf(store, body.username))
  })

  r.post('/operators/:username/disable', admin, async (req, res) => {
    const { username } = parseInput(OperatorNamePath, req.params, 'path')
    const store = ops()
    if (username === callerOf(res).username) throw new HttpError(400, 'an admin cannot disable their own account')
    settle(await store.setDisabled(username, true), username, 'disabled')
    sessionsEnded()
    await audit(req, res, 'operator-disable', username)
    res.json(await viewOf(store, username))
  })

  r.post('/operators/:username/enable', admin, async (req, res) => {
    const { username } = parseInput(OperatorNamePath, req.params, 'path')
    const store = ops()
    settle(await store.setDisabled(username, false), username, 'enabled')
    await audit(req, res, 'operator-enable', username)
    res.json(await viewOf(store, username))
  })

  r.post('/operators/:username/role', admin, async (req, res) => {
    const { username } = parseInput(OperatorNamePath, req.params, 'path')
    const { role } = parseInput(OperatorRoleRequest, req.body ?? {}, 'body')
    const store = ops()
    const was = (await viewOf(store, username))?.role
    settle(await store.setRole(username, role), username, `made ${role}`)
    await audit(req, res, 'operator-role', username, { role, was })
    res.json(await viewOf(store, username))
  })

  r.post('/operators/:username/password', admin, async (req, res) => {
    const { username } = parseInput(OperatorNamePath, req.params, 'path')
    const { password } = parseInput(OperatorPasswordRequest, req.body ?? {}, 'body')
    checkNotUsername(password, username)
    const store = ops()
    // An admin resetting their own keeps the session they are using; everyone else's sessions end.
    const caller = callerOf(res)
    if (!(await store.setPassword(username, password, caller.username === username ? caller.token : undefined)))
      throw new HttpError(404, `no operator ${username}`)
    sessionsEnded()
    await audit(req, res, 'operator-password', username)
    res.json(await viewOf(store, username))
  })

  r.post('/auth/password', requireRole('viewer'), async (req, res) => {
    const caller = callerOf(res)
    if (!auth || !caller.session || !caller.token || caller.username === undefined) throw new HttpError(401, 'sign-in required to change your password')
    const body = parseInput(PasswordChangeRequest, req.body ?? {}, 'body')
    checkNotUsername(body.password, caller.username)
    const ip = clientIp(req)
    // Counted as sign-in attempts: a session left open on a shared screen must not become a way to guess the password.
    const wait = await auth.throttle.attempt(caller.username, ip, clock())
    if (wait > 0) {
      res.set('Retry-After', String(wait))
      throw new HttpError(429, `too many wrong passwords; try again in ${wait} s`)
    }
    if (!(await auth.operators.verify(caller.username, body.current))) throw new HttpError(400, 'invalid body field current: not your current password')
    await auth.throttle.succeeded(caller.username, ip, clock())
    await auth.operators.setPassword(caller.username, body.password, caller.token)
    sessionsEnded()
    await audit(req, res, 'password-change', caller.username)
    res.json(await viewOf(auth.operators, caller.username))
  })

  r.get('/audit', admin, async (req, res) => {
    const q = parseInput(AuditListParams, req.query, 'query')
    res.json(await ops().auditLog(q))
  })
  return r
}
