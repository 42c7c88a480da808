import { Router, type Request, type Response } from 'express'
import type { AgencyKeyStore, AuditInput } from '@mytho/directory'
import { AgencyKeyCreateRequest, AgencyKeyIdPath, AgencyKeyUsesParams, type AuditAction } from '@mytho/schema'
import { actorOf, clientIp, requireRole } from '../auth/session.ts'
import { HttpError, parseInput } from '../http-errors.ts'

/**
 * Agency keys (issue #22), admins only: issue (the key is in the answer once), list, revoke, and read a key's use
 * log. Issuing and revoking are audited like every admin action; each use is counted in the key's own log.
 */
export function adminAgencyKeysRouter(
  keys: () => AgencyKeyStore | undefined,
  clock: () => number,
  audit: (e: AuditInput, now: number) => Promise<void>,
): Router {
  const r = Router()
  const admin = requireRole('admin')
  const store = () => {
    const s = keys()
    if (!s) throw new HttpError(503, 'agency keys need DATA_DIR or REDIS_URL (the metadata store)')
    return s
  }
  const write = (req: Request, res: Response, action: AuditAction, target: string, detail?: unknown) =>
    audit({ actor: actorOf(req, res).actor, action, target, detail, ip: clientIp(req) }, clock())

  r.get('/admin/agency-keys', admin, async (_req, res) => {
    res.json(await store().list())
  })

  r.post('/admin/agency-keys', admin, async (req, res) => {
    const body = parseInput(AgencyKeyCreateRequest, req.body ?? {}, 'body')
    const now = clock()
    if (body.expiresAt !== undefined && body.expiresAt <= now) throw new HttpError(400, 'invalid body field expiresAt: must be in the future')
    const created = await store().create({ ...body, createdBy: actorOf(req, res).actor }, now)
    const { name, agency, scope, expiresAt } = created.agencyKey
    await write(req, res, 'agency-key-create', created.agencyKey.id, { name, agency, scope, expiresAt })
    res.status(201).json(created)
  })

  r.post('/admin/agency-keys/:id/revoke', admin, async (req, res) => {
    const { id } = parseInput(AgencyKeyIdPath, req.params, 'path')
    const view = await store().revoke(id, clock())
    if (!view) throw new HttpError(404, `no agency key ${id}`)
    await write(req, res, 'agency-key-revoke', id, { name: view.name, agency: view.agency })
    res.json(view)
  })

  r.get('/admin/agency-keys/:id/uses', admin, async (req, res) => {
    const { id } = parseInput(AgencyKeyIdPath, req.params, 'path')
    const { limit } = parseInput(AgencyKeyUsesParams, req.query, 'query')
    if (!(await store().get(id))) throw new HttpError(404, `no agency key ${id}`)
    res.json(await store().uses(id, limit))
  })
  return r
}
