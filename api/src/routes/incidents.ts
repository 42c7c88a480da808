import { Router } from 'express'
import { AcknowledgeRequest, BulkAcknowledgeRequest, IncidentIdPath, type IncidentChange } from '@mytho/schema'
import type { OperatorIncidents } from '@mytho/alerts'
import { HttpError, parseInput } from '../http-errors.ts'
import { actorOf, clientIp, requireRole } from '../auth/session.ts'
import type { AuditInput } from '@mytho/directory'

/**
 * Incidents the ingest's alert engine raised, read from the shared incident store (alerts.sqlite, or Redis with
 * REDIS_URL); acknowledgement is the API's one write there (its own fields, so it never races the engine). The acknowledging operator is
 * the signed-in one (a `by` in the body is ignored then); without a session, anonymous with the client address and
 * the claimed name kept apart, in the event and the audit log; operators and admins only.
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

  // GET /incidents (the list and the incident log's filters) is in incident-log.ts, mounted before this router.
  r.get('/incidents/:id', async (req, res) => {
    const { id } = parseInput(IncidentIdPath, req.params, 'path')
    const inc = await store().get(id)
    if (!inc) throw new HttpError(404, `no incident ${id}`)
    res.json(inc)
  })

  r.post('/incidents/:id/acknowledge', requireRole('operator'), async (req, res) => {
    const { id } = parseInput(IncidentIdPath, req.params, 'path')
    const body = parseInput(AcknowledgeRequest, req.body ?? {}, 'body')
    const { actor, anonymous } = actorOf(req, res)
    const claimedBy = anonymous ? body.by : undefined
    if (anonymous && claimedBy === undefined) throw new HttpError(400, 'invalid body field by: Required (who acknowledges, when not signed in)')
    const inc = await store().acknowledge(id, actor, body.note, clock(), claimedBy)
    if (!inc) throw new HttpError(404, `no incident ${id}`)
    const detail = { ...(body.note !== undefined ? { note: body.note } : {}), ...(claimedBy !== undefined ? { claimedBy } : {}) }
    audit({ actor, action: 'acknowledge', target: id, detail: Object.keys(detail).length > 0 ? detail : undefined, ip: clientIp(req) }, clock())
    const event = inc.events.filter((e) => e.type === 'acknowledged').at(-1)!
    announce({ incident: inc, event })
    res.json(inc)
  })

  // Several at once with one note (a flood of device-silent after an outage): each incident acknowledged, audited and
  // announced exactly as by the route above, so the browsers and the audit log cannot tell them from single ones.
  r.post('/incidents/acknowledge', requireRole('operator'), async (req, res) => {
    const body = parseInput(BulkAcknowledgeRequest, req.body ?? {}, 'body')
    const { actor, anonymous } = actorOf(req, res)
    const claimedBy = anonymous ? body.by : undefined
    if (anonymous && claimedBy === undefined) throw new HttpError(400, 'invalid body field by: Required (who acknowledges, when not signed in)')
    const target = body.ids !== undefined ? { ids: body.ids } : { ruleId: body.ruleId! }
    const result = await store().acknowledgeMany(target, actor, body.note, clock(), claimedBy)
    const detail = { ...(body.note !== undefined ? { note: body.note } : {}), ...(claimedBy !== undefined ? { claimedBy } : {}) }
    for (const inc of result.acknowledged) {
      audit({ actor, action: 'acknowledge', target: inc.id, detail: Object.keys(detail).length > 0 ? detail : undefined, ip: clientIp(req) }, clock())
      announce({ incident: inc, event: inc.events.filter((e) => e.type === 'acknowledged').at(-1)! })
    }
    res.json(result)
  })
  return r
}
