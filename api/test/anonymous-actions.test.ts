import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { openIncidentStore, type NewIncident } from '@mytho/alerts'
import type { AuditEntry, Incident } from '@mytho/schema'
import { startSecuredApi } from './auth-harness.ts'

/*
 * Issue #15: with AUTH_DISABLED anyone who reaches the API acts as an operator, but nobody without a session is an
 * operator. Their acknowledgement is recorded as anonymous with the client's address; the name they give in `by` is
 * kept apart as an unchecked claim, in the incident's event and the audit log, never as the actor.
 */

const T0 = Date.now() - 10 * 60_000

/** A critical flood incident (BĐ III), raised as the ingest's engine writes it into DATA_DIR/alerts.sqlite. */
function raiseFlood(dataDir: string, id: string): void {
  const store = openIncidentStore(join(dataDir, 'alerts.sqlite'))
  onTestFinished(() => store.close())
  const inc: NewIncident = {
    id,
    ruleId: 'flood',
    subject: 'wl-my-phong-riverside',
    subjectType: 'device',
    deviceIds: ['wl-my-phong-riverside'],
    kind: 'water_level',
    level: 3,
    peakLevel: 3,
    severity: 'critical',
    title: { vi: 'Ngập do triều cường / lũ: Báo động III', en: 'Flood (high water): Alarm level III' },
    state: 'open',
    metric: 'waterLevelCm',
    lastValue: 164,
    peakValue: 164,
    raisedAt: T0,
    updatedAt: T0,
  }
  store.create(inc, { at: T0, type: 'raised', level: 3, value: 164 })
}

describe('an action without a session is anonymous, with its address (issue #15)', () => {
  it('AUTH_DISABLED: `by` is only a claim; the acknowledgement and the audit entry name anonymous@address, and a signed-in operator is still named', async () => {
    const api = await startSecuredApi({ AUTH_DISABLED: true })
    raiseFlood(api.dir, 'inc-flood-1')
    raiseFlood(api.dir, 'inc-flood-2')

    const anon = await api.call(undefined, 'POST', '/incidents/inc-flood-1/acknowledge', { by: 'mallory', note: 'đã xem' })
    expect(anon.status).toBe(200)
    const acked = anon.body as Incident
    expect(acked).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'anonymous@127.0.0.1', ackNote: 'đã xem' })
    expect(acked.events.at(-1)).toEqual({
      at: expect.any(Number),
      type: 'acknowledged',
      level: 3,
      value: null,
      by: 'anonymous@127.0.0.1',
      claimedBy: 'mallory',
      note: 'đã xem',
    })
    // as stored, not only as answered
    expect((await api.call(undefined, 'GET', '/incidents/inc-flood-1')).body).toMatchObject({
      acknowledgedBy: 'anonymous@127.0.0.1',
      events: [{ type: 'raised' }, { by: 'anonymous@127.0.0.1', claimedBy: 'mallory' }],
    })

    const admin = await api.signIn('admin')
    expect((await api.call(admin, 'GET', '/audit?actor=mallory')).body).toEqual([])
    const byAnon = (await api.call(admin, 'GET', '/audit?actor=anonymous@127.0.0.1')).body as AuditEntry[]
    expect(byAnon).toEqual([
      {
        id: expect.any(Number),
        ts: expect.any(Number),
        actor: 'anonymous@127.0.0.1',
        action: 'acknowledge',
        target: 'inc-flood-1',
        detail: { note: 'đã xem', claimedBy: 'mallory' },
        ip: '127.0.0.1',
      },
    ])

    // A signed-in operator is the actor; a `by` in the body is ignored, and nothing is claimed.
    const operator = await api.signIn('operator')
    const signed = await api.call(operator, 'POST', '/incidents/inc-flood-2/acknowledge', { by: 'mallory' })
    expect(signed.status).toBe(200)
    expect(signed.body).toMatchObject({ acknowledgedBy: 'operator1' })
    expect((signed.body as Incident).events.at(-1)).toEqual({ at: expect.any(Number), type: 'acknowledged', level: 3, value: null, by: 'operator1' })
    expect((await api.call(admin, 'GET', '/audit?actor=operator1&action=acknowledge')).body).toEqual([
      { id: expect.any(Number), ts: expect.any(Number), actor: 'operator1', action: 'acknowledge', target: 'inc-flood-2', detail: null, ip: '127.0.0.1' },
    ])
    expect((await api.call(admin, 'GET', '/audit?actor=mallory')).body).toEqual([])
  })

  it('BEHIND_PROXY: the anonymous address is the client the proxy reports (X-Forwarded-For), as for the sign-in throttle', async () => {
    const api = await startSecuredApi({ AUTH_DISABLED: true, BEHIND_PROXY: true })
    raiseFlood(api.dir, 'inc-flood-3')
    const res = await fetch(`${api.base}/incidents/inc-flood-3/acknowledge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.7' },
      body: JSON.stringify({ by: 'operator1' }),
    })
    expect(res.status).toBe(200)
    const inc = (await res.json()) as Incident
    expect(inc.acknowledgedBy).toBe('anonymous@203.0.113.7')
    expect(inc.events.at(-1)).toMatchObject({ by: 'anonymous@203.0.113.7', claimedBy: 'operator1' })
    // claiming an operator's name does not make it theirs
    const admin = await api.signIn('admin')
    expect((await api.call(admin, 'GET', '/audit?actor=operator1&action=acknowledge')).body).toEqual([])
    expect((await api.call(admin, 'GET', '/audit?action=acknowledge')).body).toMatchObject([
      { actor: 'anonymous@203.0.113.7', ip: '203.0.113.7', detail: { claimedBy: 'operator1' } },
    ])
  })
})
