import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadRegistryFile, type IncidentChange, type StoredReading } from '@mytho/schema'
import { makeTempDir } from '@mytho/testing'
import { createAlertEngine, defaultAlertRules, openIncidentStore } from '../src/index.ts'

const registry = loadRegistryFile()
const T0 = Date.UTC(2026, 9, 8, 22, 0, 0) // 05:00 local, a spring-tide morning
const min = 60_000
const cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})

function setup(dir = makeTempDir('mytho-alerts-').path) {
  let now = T0
  const store = openIncidentStore(join(dir, 'alerts.sqlite'))
  const changes: IncidentChange[] = []
  const engine = createAlertEngine({ rules: defaultAlertRules, registry, store, clock: () => now, onChange: (c) => changes.push(c) })
  cleanups.push(() => store.close())
  return {
    dir,
    store,
    engine,
    changes,
    setNow: (t: number) => (now = t),
    read: (deviceId: string, at: number, fields: Record<string, number>) => {
      now = Math.max(now, at)
      const d = registry.get(deviceId)!
      const r: StoredReading = { deviceId, kind: d.kind, ward: d.ward, ts: at, tsSource: 'device', receivedAt: at, fields }
      engine.onReading(r)
    },
  }
}

const gauge = 'wl-hydro-station'
const types = (changes: IncidentChange[], ruleId?: string) =>
  changes.filter((c) => !ruleId || c.incident.ruleId === ruleId).map((c) => `${c.event.type}:${c.event.level}`)

describe('flood rule', () => {
  it('escalates BĐ I → II → III and back down on one incident, then clears', () => {
    const s = setup()
    const levels = [120, 141, 142, 143, 151, 152, 153, 161, 163, 165, 150, 150, 150, 150, 150, 130, 130, 130, 130, 130]
    for (const [i, cm] of levels.entries()) s.read(gauge, T0 + i * 5 * min, { waterLevelCm: cm })
    expect(types(s.changes, 'flood')).toEqual(['raised:1', 'escalated:2', 'escalated:3', 'deescalated:2', 'cleared:0'])
    expect(new Set(s.changes.map((c) => c.incident.id)).size).toBe(1)
    const inc = s.store.get(s.changes[0]!.incident.id)!
    expect(inc).toMatchObject({ state: 'cleared', level: 0, peakLevel: 3, peakValue: 165, severity: 'warning', ruleId: 'flood', deviceIds: [gauge] })
    expect(s.changes[2]!.incident).toMatchObject({ severity: 'critical', title: { vi: 'Ngập do triều cường / lũ: Báo động III' } })
  })

  it('raises one incident, not a storm, for a gauge hovering at the line', () => {
    const s = setup()
    const hover = [139, 141, 140.5, 139.5, 141, 138, 140, 139, 141, 137, 140.2, 139.8]
    for (const [i, cm] of hover.entries()) s.read(gauge, T0 + i * 5 * min, { waterLevelCm: cm })
    expect(types(s.changes, 'flood')).toEqual(['raised:1'])
  })

  it('keeps a raise hold in progress across a restart', () => {
    const first = setup()
    first.read(gauge, T0, { waterLevelCm: 162 })
    first.read(gauge, T0 + 2 * min, { waterLevelCm: 162 })
    expect(first.changes).toEqual([])
    first.store.close()
    const second = setup(first.dir)
    second.read(gauge, T0 + 5 * min, { waterLevelCm: 163 })
    expect(types(second.changes, 'flood')).toEqual(['raised:3'])
    expect(second.changes[0]!.incident.raisedAt).toBe(T0 + 5 * min)
  })

  it('acknowledge, clear → closed; an escalation after acknowledgement reopens the incident', () => {
    const s = setup()
    for (const [i, cm] of [141, 142].entries()) s.read(gauge, T0 + i * 5 * min, { waterLevelCm: cm })
    const id = s.changes[0]!.incident.id
    expect(s.store.acknowledge(id, 'trực ban Lan', 'đã báo phường', T0 + 11 * min)).toMatchObject({
      state: 'acknowledged',
      acknowledgedBy: 'trực ban Lan',
      ackNote: 'đã báo phường',
    })
    for (const [i, cm] of [165, 166].entries()) s.read(gauge, T0 + (15 + i * 5) * min, { waterLevelCm: cm })
    expect(s.store.get(id)).toMatchObject({ state: 'open', severity: 'critical', acknowledgedAt: null })
    s.store.acknowledge(id, 'trực ban Minh', undefined, T0 + 21 * min)
    for (const [i, cm] of [100, 100, 100, 100, 100].entries()) s.read(gauge, T0 + (25 + i * 5) * min, { waterLevelCm: cm })
    expect(s.store.get(id)).toMatchObject({ state: 'closed', level: 0 })
    expect(s.store.get(id)!.events.map((e) => e.type)).toEqual(['raised', 'acknowledged', 'escalated', 'acknowledged', 'cleared'])
  })

  it('reminds of an unacknowledged critical incident at the rule interval, and stops once acknowledged', () => {
    const s = setup()
    for (const [i, cm] of [170, 170].entries()) s.read(gauge, T0 + i * 5 * min, { waterLevelCm: cm })
    const id = s.changes[0]!.incident.id
    s.engine.tick(T0 + 10 * min)
    s.engine.tick(T0 + 21 * min)
    s.engine.tick(T0 + 25 * min)
    s.engine.tick(T0 + 37 * min)
    expect(types(s.changes, 'flood')).toEqual(['raised:3', 'reminded:3', 'reminded:3'])
    s.store.acknowledge(id, 'op', undefined, T0 + 38 * min)
    s.engine.tick(T0 + 60 * min)
    expect(types(s.changes, 'flood')).toEqual(['raised:3', 'reminded:3', 'reminded:3'])
  })

  it('ignores readings that are history (backfill) rather than news', () => {
    const s = setup()
    s.setNow(T0 + 48 * 60 * min)
    for (const [i, cm] of [170, 170, 170].entries()) s.read(gauge, T0 + i * 5 * min, { waterLevelCm: cm })
    expect(s.changes).toEqual([])
    expect(s.engine.stats.skippedStale).toBe(3)
  })
})

describe('other rules', () => {
  it('congestion is one incident per road segment while any counter on it is congested', () => {
    const s = setup()
    const a = 'tc-ql1-trung-luong'
    const b = 'tc-ql1-kp2-p10'
    // slow, not jammed: the first congestion level
    const slow = { avgSpeedKmh: 12, occupancyPct: 50, vehicleCount: 40, intervalS: 60 }
    const free = { avgSpeedKmh: 45, occupancyPct: 10, vehicleCount: 20, intervalS: 60 }
    s.read(a, T0, slow)
    s.read(b, T0 + min, slow)
    s.read(a, T0 + 5 * min, slow)
    s.read(b, T0 + 6 * min, free)
    s.read(a, T0 + 10 * min, free)
    s.read(a, T0 + 21 * min, free)
    expect(types(s.changes, 'congestion')).toEqual(['raised:1', 'cleared:0'])
    expect(s.changes[0]!.incident).toMatchObject({ subject: 'QL1', subjectType: 'road' })
    expect(s.store.get(s.changes[0]!.incident.id)!.deviceIds.sort()).toEqual([a, b].sort())
  })

  it('device silent after three intervals or at once on its Last Will, back to normal on the next reading', () => {
    const s = setup()
    const rg = 'rg-my-tho' // reports every 300 s
    s.read(rg, T0, { rainMm: 0 })
    s.engine.tick(T0 + 14 * min)
    expect(types(s.changes, 'device-silent')).toEqual([])
    s.engine.tick(T0 + 16 * min)
    expect(types(s.changes, 'device-silent')).toEqual(['raised:1'])
    s.read(rg, T0 + 17 * min, { rainMm: 0.2 })
    expect(types(s.changes, 'device-silent')).toEqual(['raised:1', 'cleared:0'])
    s.engine.onConnection(rg, 'offline', T0 + 18 * min)
    expect(types(s.changes, 'device-silent')).toEqual(['raised:1', 'cleared:0', 'raised:1'])
    expect(s.changes.at(-1)!.incident.title).toEqual({
      vi: 'Thiết bị mất tín hiệu: Mất kết nối (thiết bị báo ngắt)',
      en: 'Device silent: Disconnected (the device reported it went offline)',
    })
  })

  it('low battery fires below its set level with hysteresis; salinity climbs the agency thresholds', () => {
    const s = setup()
    const sal = 'sal-lac-hong'
    for (const [i, v] of [12.4, 11.7, 11.75, 11.9, 12.0, 11.9].entries()) s.read(sal, T0 + i * 10 * min, { salinityGL: 0.1, batteryV: v })
    expect(types(s.changes, 'low-battery')).toEqual(['raised:1'])
    for (const [i, v] of [0.3, 0.3, 1.2, 1.2, 4.5, 4.5].entries()) s.read(sal, T0 + (60 + i * 10) * min, { salinityGL: v, batteryV: 12.6 })
    expect(types(s.changes, 'salinity')).toEqual(['raised:1', 'escalated:2', 'escalated:3'])
  })

  it('PM2.5 is judged on its 24-hour mean, not a single spike', () => {
    const s = setup()
    const aq = 'aq-cho-my-tho'
    const h = 60 * min
    for (let i = 0; i < 12; i++) s.read(aq, T0 + i * h, { pm25UgM3: 30 })
    s.read(aq, T0 + 12 * h, { pm25UgM3: 200 })
    expect(types(s.changes, 'pm25')).toEqual([])
    for (let i = 13; i < 40; i++) s.read(aq, T0 + i * h, { pm25UgM3: 70 })
    expect(types(s.changes, 'pm25')).toEqual(['raised:1'])
    expect(s.changes[0]!.event.at).toBeGreaterThan(T0 + 14 * h)
  })

  it('PM2.5: no verdict on a few busy minutes, but a backfilled day counts toward the mean at once', () => {
    const fresh = setup()
    const aq = 'aq-ben-xe-tien-giang'
    fresh.read(aq, T0, { pm25UgM3: 80 })
    fresh.read(aq, T0 + 2 * min, { pm25UgM3: 85 })
    expect(types(fresh.changes, 'pm25')).toEqual([])

    const s = setup()
    const now = T0 + 24 * 60 * min
    s.setNow(now)
    const d = registry.get(aq)!
    for (let i = 23; i >= 2; i--)
      s.engine.onReading({ deviceId: aq, kind: d.kind, ward: d.ward, ts: now - i * 60 * min, tsSource: 'device', receivedAt: now, fields: { pm25UgM3: 75 } })
    expect(s.changes).toEqual([])
    s.read(aq, now - 1000, { pm25UgM3: 72 })
    expect(types(s.changes, 'pm25')).toEqual(['raised:1'])
  })
})
