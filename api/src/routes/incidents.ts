import { Router } from 'express'
import { AcknowledgeRequest, IncidentIdPath, IncidentListParams, type IncidentChange } from '@mytho/schema'
import type { IncidentStore } from '@mytho/alerts'
import { HttpError, parseInput } from '../http-errors.ts'

/**
 * Incidents the ingest's alert engine raised, read from the shared incident store; acknowledgement is the
 * API's one write there (its own columns, so it never races the engine). Until operators sign in (issue #6)
 * the acknowledging operator names themselves in `by`.
 */
export function incidentsRouter(incidents: () => IncidentStore | undefined, clock: () => number, announce: (change: IncidentChange) => void): Router {
  const r = Router()
  const store = () => {
    const s = incidents()
    if (!s) throw new HttpError(503, 'incident store unavailable (alerts disabled or DATA_DIR not set)')
    return s
  }

  r.get('/incidents', (req, res) => {
    const q = parseInput(IncidentListParams, req.query, 'query')
    const { active, ...rest } = q
    const filter = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined))
    res.json(store().list({ ...filter, ...(active && q.state === undefined ? { active: true } : {}) }))
  })

  r.get('/incidents/:id', (req, res) => {
    const { id } = parseInput(IncidentIdPath, req.params, 'path')
    const inc = store().get(id)
    if (!inc) throw new HttpError(404, `no incident ${id}`)
    res.json(inc)
  })

  r.post('/incidents/:id/acknowledge', (req, res) => {
    const { id } = parseInput(IncidentIdPath, req.params, 'path')
    const body = parseInput(AcknowledgeRequest, req.body ?? {}, 'body')
    const inc = store().acknowledge(id, body.by, body.note, clock())
    if (!inc) throw new HttpError(404, `no incident ${id}`)
    const event = inc.events.filter((e) => e.type === 'acknowledged').at(-1)!
    announce({ incident: inc, event })
    res.json(inc)
  })
  return r
}
