import { Router } from 'express'
import { AcknowledgeRequest, IncidentIdPath, IncidentListParams, type IncidentChange } from '@mytho/schema'
import type { OperatorIncidents } from '@mytho/alerts'
import { HttpError, parseInput } from '../http-errors.ts'
import { callerOf, clientIp, requireRole } from '../auth/session.ts'
import type { AuditInput } from '../auth/operator-store.ts'

/** `by` is the signed-in operator; only an anonymous caller (AUTH_DISABLED, or no sign-in configured) names themselves. */
export const AcknowledgeBody = AcknowledgeRequest.extend({ by: AcknowledgeRequest.shape.by.optional() })

/**
 * Incidents the ingest's alert engine raised, read from the shared incident store (alerts.sqlite, or Redis with
 * REDIS_URL); acknowledgement is the API's one write there (its own fields, so it never races the engine). The acknowledging operator is
 * the signed-in one (a `by` in the body is ignored then); operators and admins only.
 */
export function incidentsRouter(
  incidents: () => OperatorIncidents | undefined,
  clock: () => number,
  announce: (change: IncidentChange) => void,
  audit: (entry: AuditInput, now: number) => void = () => {},
): Router {
  const r = Router()
  const store = () => {
    const s = incidents()
    if (!s) throw new HttpError(503, 'incident store unavailable (alerts disabled or DATA_DIR not set)')
    return s
  }

  r.get('/incidents', async (req, res) => {
    const q = parseInput(IncidentListParams, req.query, 'query')
    const { active, ...rest } = q
    const filter = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined))
    res.json(await store().list({ ...filter, ...(active && q.state === undefined ? { active: true } : {}) }))
  })

  r.get('/incidents/:id', async (req, res) => {
    const { id } = parseInput(IncidentIdPath, req.params, 'path')
    const inc = await store().get(id)
    if (!inc) throw new HttpError(404, `no incident ${id}`)
    res.json(inc)
  })

  r.post('/incidents/:id/acknowledge', requireRole('operator'), async (req, res) => {
    const { id } = parseInput(IncidentIdPath, req.params, 'path')
    const body = parseInput(AcknowledgeBody, req.body ?? {}, 'body')
    const by = callerOf(res).username ?? body.by
    if (by === undefined) throw new HttpError(400, 'invalid body field by: Required (who acknowledges, when not signed in)')
    const inc = await store().acknowledge(id, by, body.note, clock())
    if (!inc) throw new HttpError(404, `no incident ${id}`)
    audit({ actor: by, action: 'acknowledge', target: id, detail: body.note !== undefined ? { note: body.note } : undefined, ip: clientIp(req) }, clock())
    const event = inc.events.filter((e) => e.type === 'acknowledged').at(-1)!
    announce({ incident: inc, event })
    res.json(inc)
  })
  return r
}
