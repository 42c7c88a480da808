import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { openIncidentStore, type NewIncident } from '@mytho/alerts'
import type { AuditEntry, BulkAcknowledgeResult, IncidentChange } from '@mytho/schema'
import { waitFor } from '@mytho/testing'
import { startSecuredApi } from './auth-harness.ts'

/*
 * Issue #17: after an outage an operator acknowledges a flood of incidents with one note, the selected ones or all of
 * one rule (POST /api/v1/incidents/acknowledge), each audited and announced as if acknowledged alone.
 */

const T0 = Date.now() - 30 * 60_000

/** Incidents as the ingest's engine writes them into DATA_DIR/alerts.sqlite. */
function raise(dataDir: string, incidents: { id: string; ruleId: string; subject: string; cleared?: boolean }[]): void {
  const store = openIncidentStore(join(dataDir, 'alerts.sqlite'))
  onTestFinished(() => store.close())
  for (const [i, { id, ruleId, subject, cleared }] of incidents.entries()) {
    const at = T0 + i
    const inc: NewIncident = {
      id,
      ruleId,
      subject,
      subjectType: 'device',
      deviceIds: [subject],
      kind: 'rain',
      level: 1,
      peakLevel: 1,
      severity: 'warning',
      title: { vi: 'Thiết bị mất tín hiệu: Không có số liệu', en: 'Device silent: No readings' },
      state: 'open',
      metric: null,
      lastValue: null,
      peakValue: null,
      ward: null,
      action: null,
      raisedAt: at,
      updatedAt: at,
    }
    store.create(inc, { at, type: 'raised', level: 1, value: null })
    if (cleared)
      store.update(
        id,
        { level: 0, severity: 'warning', title: inc.title, value: null, at: at + 60_000, cleared: true },
        { at: at + 60_000, type: 'cleared', level: 0, value: null },
      )
  }
}

describe('bulk acknowledge (issue #17)', () => {
  it('by ids and by rule with one note: each acknowledged, audited and announced on the live feed like a single acknowledge', async () => {
    const api = await startSecuredApi()
    raise(api.dir, [
      { id: 'inc-s1', ruleId: 'device-silent', subject: 'rg-my-tho' },
      { id: 'inc-s2', ruleId: 'device-silent', subject: 'aq-my-tho' },
      { id: 'inc-s3', ruleId: 'device-silent', subject: 'sal-cho-gao', cleared: true },
      { id: 'inc-s4', ruleId: 'device-silent', subject: 'tc-ql1-trung-luong', cleared: true },
      { id: 'inc-f1', ruleId: 'flood', subject: 'wl-hydro-station' },
    ])
    const viewer = await api.signIn('viewer')
    const { outcome, socket } = await api.socket(viewer)
    onTestFinished(() => void socket.disconnect())
    expect(outcome).toBe('connected')
    const pushed: IncidentChange[] = []
    socket.on('incident', (c: IncidentChange) => pushed.push(c))

    const operator = await api.signIn('operator')
    const note = 'Mất điện khu Mỹ Phong, đã báo Điện lực'
    const byIds = await api.call<BulkAcknowledgeResult>(operator, 'POST', '/incidents/acknowledge', { ids: ['inc-s1', 'inc-s3', 'inc-nope'], note })
    expect(byIds.status).toBe(200)
    expect(byIds.body.acknowledged.map((i) => [i.id, i.state, i.acknowledgedBy, i.ackNote])).toEqual([
      ['inc-s1', 'acknowledged', 'operator1', note],
      ['inc-s3', 'closed', 'operator1', note],
    ])
    expect(byIds.body.skipped).toEqual([{ id: 'inc-nope', reason: 'not found' }])

    const byRule = await api.call<BulkAcknowledgeResult>(operator, 'POST', '/incidents/acknowledge', { ruleId: 'device-silent', note: 'khởi động lại' })
    expect(byRule.status).toBe(200)
    expect(byRule.body.acknowledged.map((i) => i.id).sort()).toEqual(['inc-s2', 'inc-s4'])
    expect(byRule.body.skipped).toEqual([])
    // Another rule's incident waits for its own acknowledgement.
    expect((await api.call<{ state: string }>(operator, 'GET', '/incidents/inc-f1')).body.state).toBe('open')

    await waitFor(() => pushed.length >= 4, { what: 'four acknowledgements on the live feed' })
    expect(pushed.map((c) => [c.incident.id, c.event.type, c.event.by, c.event.note]).sort()).toEqual([
      ['inc-s1', 'acknowledged', 'operator1', note],
      ['inc-s2', 'acknowledged', 'operator1', 'khởi động lại'],
      ['inc-s3', 'acknowledged', 'operator1', note],
      ['inc-s4', 'acknowledged', 'operator1', 'khởi động lại'],
    ])

    const admin = await api.signIn('admin')
    const audit = (await api.call<AuditEntry[]>(admin, 'GET', '/audit?actor=operator1&action=acknowledge')).body
    expect(audit.map((a) => [a.target, a.detail]).sort()).toEqual([
      ['inc-s1', { note }],
      ['inc-s2', { note: 'khởi động lại' }],
      ['inc-s3', { note }],
      ['inc-s4', { note: 'khởi động lại' }],
    ])
  })

  it('answers a bad body with 400 naming the field, and a viewer with 403', async () => {
    const api = await startSecuredApi()
    raise(api.dir, [{ id: 'inc-s1', ruleId: 'device-silent', subject: 'rg-my-tho' }])
    const operator = await api.signIn('operator')
    const post = (body: unknown) => api.call<{ error: string }>(operator, 'POST', '/incidents/acknowledge', body)

    const both = await post({ ids: ['inc-s1'], ruleId: 'device-silent' })
    expect(both.status).toBe(400)
    expect(both.body.error).toBe('invalid body field ruleId: give exactly one of ids or ruleId')
    const neither = await post({ note: 'x' })
    expect(neither.status).toBe(400)
    expect(neither.body.error).toBe('invalid body field ids: give exactly one of ids or ruleId')
    const tooMany = await post({ ids: Array.from({ length: 501 }, (_, i) => `inc-${i}`) })
    expect(tooMany.status).toBe(400)
    expect(tooMany.body.error).toMatch(/^invalid body field ids: /)
    expect((await post({ ids: [] })).body.error).toMatch(/^invalid body field ids: /)
    expect((await post({ ruleId: 'device-silent', extra: 1 })).status).toBe(400)

    const viewer = await api.signIn('viewer')
    expect((await api.call(viewer, 'POST', '/incidents/acknowledge', { ruleId: 'device-silent' })).status).toBe(403)
    // Nothing was acknowledged by any of these.
    expect((await api.call<{ state: string }>(operator, 'GET', '/incidents/inc-s1')).body.state).toBe('open')
  })
})
