import { describe, expect, it } from 'vitest'
import type { Incident, IncidentEvent } from './schema.ts'
import { IncidentStore, type IncidentStoreEvent } from './incidents-store.ts'

const ev = (type: IncidentEvent['type'], at = 1): IncidentEvent => ({ at, type, level: 1, value: null })
const inc = (id: string, o: Partial<Incident> = {}): Incident => ({
  id,
  ruleId: 'flood',
  subject: `wl-${id}`,
  subjectType: 'device',
  deviceIds: [`wl-${id}`],
  kind: 'water_level',
  level: 1,
  peakLevel: 1,
  severity: 'warning',
  title: { vi: 'Ngập', en: 'Flood' },
  state: 'open',
  metric: 'waterLevelCm',
  lastValue: null,
  peakValue: null,
  ward: null,
  action: null,
  raisedAt: 1000,
  updatedAt: 1000,
  acknowledgedAt: null,
  acknowledgedBy: null,
  ackNote: null,
  clearedAt: null,
  closedAt: null,
  events: [ev('raised')],
  ...o,
})

describe('IncidentStore', () => {
  it('sorts critical first, then the oldest first', () => {
    const s = new IncidentStore()
    s.replaceAll([
      inc('a', { raisedAt: 1 }),
      inc('b', { severity: 'critical', raisedAt: 5 }),
      inc('c', { severity: 'critical', raisedAt: 2 }),
      inc('d', { severity: 'info', raisedAt: 0 }),
    ])
    expect(s.sorted().map((i) => i.id)).toEqual(['c', 'b', 'a', 'd'])
  })

  it('upserts changes, drops closed ones, and flags raised/escalated/reopened as fresh', () => {
    const s = new IncidentStore()
    const seen: IncidentStoreEvent[] = []
    s.on((e) => seen.push(e))
    s.replaceAll([inc('a'), inc('gone', { state: 'closed' })])
    expect([...s.active.keys()]).toEqual(['a'])
    s.apply({ incident: inc('b', { severity: 'critical' }), event: ev('raised') })
    s.apply({ incident: inc('a', { state: 'acknowledged', acknowledgedBy: 'Lan', events: [ev('raised'), ev('acknowledged')] }), event: ev('acknowledged') })
    expect(seen.map((e) => (e.type === 'changed' ? `${e.incident.id}:${e.fresh}` : e.type))).toEqual(['replaced', 'b:true', 'a:false'])
    expect(s.active.get('a')?.acknowledgedBy).toBe('Lan')
    expect(s.alarmedDevices()).toEqual(new Set(['wl-b']))
    s.apply({ incident: inc('b', { severity: 'critical', state: 'closed', events: [ev('raised'), ev('cleared'), ev('closed')] }), event: ev('closed') })
    expect(s.active.has('b')).toBe(false)
    expect(s.alarmedDevices()).toEqual(new Set())
  })

  it('ignores a change older than the one held (a late push after the REST answer)', () => {
    const s = new IncidentStore()
    s.upsert(inc('a', { state: 'acknowledged', events: [ev('raised'), ev('acknowledged')] }))
    s.apply({ incident: inc('a'), event: ev('raised') })
    expect(s.active.get('a')?.state).toBe('acknowledged')
  })
})
