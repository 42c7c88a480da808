import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Incident } from '@mytho/schema'
import { makeTempDir } from '@mytho/testing'
import { defaultAlertRules, incidentAsOf, openIncidentStore, titleOf } from '../src/index.ts'

/*
 * Replay (issue #21) shows an incident as it stood at a past instant. Rebuilt from its events, it must equal what the
 * store itself held at that instant: each step below is written through the store and its answer kept as the truth.
 */

const T0 = Date.UTC(2026, 10, 24, 16, 0, 0)
const min = 60_000
const cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})

const flood = defaultAlertRules.find((r) => r.id === 'flood')!
const level = (n: number) => (flood.type === 'threshold' ? flood.levels[n - 1]! : undefined)!

describe('an incident as of an instant (replay)', () => {
  it('rebuilds level, state, severity, title, action, acknowledgement and clearing as the store held them then', () => {
    const tmp = makeTempDir('mytho-as-of-')
    const store = openIncidentStore(join(tmp.path, 'alerts.sqlite'))
    cleanups.push(() => (store.close(), tmp.cleanup()))
    const truth: [number, Incident][] = []
    const keep = (at: number) => truth.push([at, store.get('inc-1')!])
    const patch = (n: number, value: number, at: number, more: { cleared?: boolean; reopen?: boolean } = {}) => ({
      level: more.cleared ? 0 : n,
      severity: level(n).severity,
      title: titleOf(flood, level(n)),
      value,
      at,
      ...more,
      ...(more.cleared ? {} : { action: level(n).action ?? null }),
    })

    store.create(
      {
        id: 'inc-1',
        ruleId: 'flood',
        subject: 'wl-my-phong-riverside',
        subjectType: 'device',
        deviceIds: ['wl-my-phong-riverside'],
        kind: 'water_level',
        level: 1,
        peakLevel: 1,
        severity: level(1).severity,
        title: titleOf(flood, level(1)),
        state: 'open',
        metric: 'waterLevelCm',
        lastValue: 142,
        peakValue: 142,
        ward: 'my-phong',
        action: level(1).action ?? null,
        raisedAt: T0,
        updatedAt: T0,
      },
      { at: T0, type: 'raised', level: 1, value: 142 },
    )
    keep(T0)
    store.acknowledge('inc-1', 'minh', 'đang theo dõi', T0 + 5 * min)
    keep(T0 + 5 * min)
    store.update('inc-1', patch(2, 151, T0 + 10 * min), { at: T0 + 10 * min, type: 'escalated', level: 2, value: 151 })
    keep(T0 + 10 * min)
    // BĐ III is critical: a worse severity reopens the acknowledged incident
    store.update('inc-1', patch(3, 163, T0 + 20 * min, { reopen: true }), { at: T0 + 20 * min, type: 'escalated', level: 3, value: 163 })
    keep(T0 + 20 * min)
    store.update('inc-1', patch(1, 141, T0 + 40 * min), { at: T0 + 40 * min, type: 'deescalated', level: 1, value: 141 })
    keep(T0 + 40 * min)
    store.update('inc-1', patch(1, 120, T0 + 60 * min, { cleared: true }), { at: T0 + 60 * min, type: 'cleared', level: 0, value: 120 })
    keep(T0 + 60 * min)
    store.acknowledge('inc-1', 'lan', undefined, T0 + 70 * min)
    keep(T0 + 70 * min)

    const final = store.get('inc-1')!
    expect(final.state).toBe('closed')
    expect(incidentAsOf(final, T0 - 1, defaultAlertRules)).toBeUndefined()
    for (const [at, then] of truth) {
      // one ms before the next step too: nothing changes between events
      for (const t of [at, at + 4 * min]) {
        const rebuilt = incidentAsOf(final, t, defaultAlertRules)
        expect(rebuilt, new Date(t).toISOString()).toEqual(then)
      }
    }
  })
})
