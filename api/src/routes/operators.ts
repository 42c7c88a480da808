import { Router } from 'express'
import { AuditListParams, OperatorCreateRequest, OperatorNamePath } from '@mytho/schema'
import { HttpError, parseInput } from '../http-errors.ts'
import { callerOf, clientIp, requireRole, type AuthContext } from '../auth/session.ts'

/** Admins manage operators and browse the audit log. */
export function operatorsRouter(auth: AuthContext | undefined, clock: () => number, sessionsEnded: () => void = () => {}): Router {
  const r = Router()
  const ops = () => {
    if (!auth) throw new HttpError(503, 'operators are not configured on this API (no operator store)')
    return auth.operators
  }
  const admin = requireRole('admin')

  r.get('/operators', admin, async (_req, res) => {
    res.json(await ops().list())
  })

  r.post('/operators', admin, async (req, res) => {
    const body = parseInput(OperatorCreateRequest, req.body ?? {}, 'body')
    const store = ops()
    if (!(await store.create(body.username, body.password, body.role, clock()))) throw new HttpError(409, `operator ${body.username} exists`)
    await store.audit(
      { actor: callerOf(res).username ?? 'anonymous', action: 'operator-create', target: body.username, detail: { role: body.role }, ip: clientIp(req) },
      clock(),
    )
    res.status(201).json((await store.list()).find((o) => o.username === body.username))
  })

  r.post('/operators/:username/disable', admin, async (req, res) => {
    const { username } = parseInput(OperatorNamePath, req.params, 'path')
    const store = ops()
    if (username === callerOf(res).username) throw new HttpError(400, 'an admin cannot disable their own account')
    if (!(await store.setDisabled(username, true))) throw new HttpError(404, `no operator ${username}`)
    sessionsEnded()
    await store.audit({ actor: callerOf(res).username ?? 'anonymous', action: 'operator-disable', target: username, ip: clientIp(req) }, clock())
    res.json((await store.list()).find((o) => o.username === username))
  })

  r.get('/audit', admin, async (req, res) => {
    const q = parseInput(AuditListParams, req.query, 'query')
    res.json(await ops().auditLog(q))
  })
  return r
}
