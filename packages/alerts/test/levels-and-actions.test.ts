import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { loadRegistryFile, type IncidentChange, type StoredReading } from '@mytho/schema'
import { makeTempDir } from '@mytho/testing'
import { createAlertEngine, createDeviceJudge, defaultAlertRules, judgeReading, openIncidentStore, parseAlertRules, type AlertRule } from '../src/index.ts'

/*
 * Issue #17: congestion in levels, a recommended action per level, the incident's ward, and the one judge of a
 * marker sharing the engine's rules.
 */

const registry = loadRegistryFile()
const T0 = Date.UTC(2026, 9, 8, 22, 0, 0)
const min = 60_000
const cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})

function setup(rules: AlertRule[] = defaultAlertRules) {
  const dir = makeTempDir('mytho-alerts-levels-')
  const store = openIncidentStore(join(dir.path, 'alerts.sqlite'))
  cleanups.push(() => {
    store.close()
    dir.cleanup()
  })
  let now = T0
  const changes: IncidentChange[] = []
  const engine = createAlertEngine({ rules, registry, store, clock: () => now, onChange: (c) => changes.push(c) })
  const read = (deviceId: string, at: number, fields: Record<string, number>) => {
    now = Math.max(now, at)
    const d = registry.get(deviceId)!
    engine.onReading({ deviceId, kind: d.kind, ward: d.ward, ts: at, tsSource: 'device', receivedAt: at, fields })
  }
  return { store, engine, changes, read, path: store.path }
}

const congestionOld = {
  id: 'congestion',
  type: 'condition',
  title: { vi: 'Ùn tắc giao thông', en: 'Traffic congestion' },
  kinds: ['traffic'],
  conditions: [{ metric: 'avgSpeedKmh', op: 'below', set: 15, clear: 22 }],
  groupBy: 'road',
  severity: 'warning',
  levelName: { vi: 'Ùn tắc', en: 'Congested' },
  action: { vi: 'Báo CSGT', en: 'Tell the traffic police' },
}

describe('rules files', () => {
  it('reads the single-level congestion shape of older files as one level, and the levelled shape', () => {
    const [old] = parseAlertRules({ rules: [congestionOld] })
    expect(old).toMatchObject({
      type: 'condition',
      levels: [
        {
          level: 1,
          name: { vi: 'Ùn tắc', en: 'Congested' },
          severity: 'warning',
          conditions: [{ metric: 'avgSpeedKmh', op: 'below', set: 15, clear: 22 }],
          action: { vi: 'Báo CSGT', en: 'Tell the traffic police' },
        },
      ],
    })
    expect(old).not.toHaveProperty('conditions')
    const levelled = defaultAlertRules.find((r) => r.id === 'congestion')!
    expect(levelled.type === 'condition' && levelled.levels.map((l) => l.severity)).toEqual(['warning', 'critical'])
  })

  it('refuses an action without both languages, a levelled rule that also gives the single shape, and levels out of order', () => {
    const { action: _a, ...noAction } = congestionOld
    const flood = defaultAlertRules.find((r) => r.id === 'flood')!
    const bad = {
      rules: [
        { ...flood, levels: flood.type === 'threshold' ? flood.levels.map((l, i) => (i === 1 ? { ...l, action: { vi: 'Đóng cống' } } : l)) : [] },
        { ...noAction, id: 'jam', action: { vi: '', en: 'x' } },
        { ...congestionOld, id: 'both', levels: [{ level: 2, name: congestionOld.levelName, severity: 'critical', conditions: congestionOld.conditions }] },
      ],
    }
    expect(() => parseAlertRules(bad, 'rules.json')).toThrowErrorMatchingInlineSnapshot(`
      [AlertRulesError: rules.json is invalid:
        rule "flood" field levels.1.action.en: Invalid input: expected string, received undefined
        rule "jam" field action.vi: Too small: expected string to have >=1 characters
        rule "both" field levels: give either levels or the single-level conditions, severity and levelName, not both
        rule "both" field levels.0.level: levels must be numbered 1, 2, 3… in order; expected 1]
    `)
  })
})

describe('incidents say where and what to do', () => {
  it('a flood incident carries its ward and the action of its level, through escalation and clearing', () => {
    const s = setup()
    const gauge = 'wl-my-phong-riverside'
    s.read(gauge, T0, { waterLevelCm: 142 })
    s.read(gauge, T0 + 5 * min, { waterLevelCm: 143 })
    const raised = s.changes.at(-1)!.incident
    const flood = defaultAlertRules.find((r) => r.id === 'flood')!
    const actions = flood.type === 'threshold' ? flood.levels.map((l) => l.action) : []
    expect(raised).toMatchObject({ ruleId: 'flood', level: 1, ward: 'my-phong', action: actions[0] })
    expect(actions[0]!.vi).toMatch(/trực ban phường/)
    s.read(gauge, T0 + 6 * min, { waterLevelCm: 162 })
    s.read(gauge, T0 + 11 * min, { waterLevelCm: 163 })
    expect(s.store.get(raised.id)).toMatchObject({ level: 3, severity: 'critical', ward: 'my-phong', action: actions[2] })
    s.read(gauge, T0 + 12 * min, { waterLevelCm: 100 })
    s.read(gauge, T0 + 28 * min, { waterLevelCm: 100 })
    // cleared: the log still says what was asked at the last level
    expect(s.store.get(raised.id)).toMatchObject({ state: 'cleared', level: 0, action: actions[2] })
  })

  it('congestion escalates from slow to jammed on one road, with each level its action', () => {
    const s = setup()
    const a = 'tc-rach-mieu-span1'
    const b = 'tc-ql60-rach-mieu-north'
    s.read(a, T0, { avgSpeedKmh: 12.2, occupancyPct: 30 })
    s.read(a, T0 + 5 * min, { avgSpeedKmh: 12, occupancyPct: 30 })
    s.read(b, T0 + 6 * min, { avgSpeedKmh: 6, occupancyPct: 70 })
    s.read(b, T0 + 11 * min, { avgSpeedKmh: 5, occupancyPct: 72 })
    const rule = defaultAlertRules.find((r) => r.id === 'congestion')!
    const levels = rule.type === 'condition' ? rule.levels : []
    expect(s.changes.filter((c) => c.incident.ruleId === 'congestion').map((c) => `${c.event.type}:${c.event.level}:${c.incident.severity}`)).toEqual([
      'raised:1:warning',
      'escalated:2:critical',
    ])
    expect(s.changes.at(-1)!.incident).toMatchObject({ subject: 'QL60-rach-mieu', ward: 'thoi-son', action: levels[1]!.action })
    expect(s.changes[0]!.incident.action).toEqual(levels[0]!.action)
  })

  it('a disconnected device is named in operator words, not MQTT ones', () => {
    const s = setup()
    const rg = 'rg-my-tho'
    s.read(rg, T0, { rainMm: 0 })
    s.engine.onConnection(rg, 'offline', T0 + min)
    const inc = s.changes.at(-1)!.incident
    expect(inc.title).toEqual({
      vi: 'Thiết bị mất tín hiệu: Mất kết nối (thiết bị báo ngắt)',
      en: 'Device silent: Disconnected (the device reported it went offline)',
    })
    expect(JSON.stringify(inc)).not.toMatch(/Last Will/i)
    expect(inc.action?.vi).toMatch(/nguồn điện/)
  })

  it('an alerts.sqlite from before wards and actions opens, its incidents reading null for both', () => {
    const dir = makeTempDir('mytho-alerts-old-')
    cleanups.push(() => dir.cleanup())
    const path = join(dir.path, 'alerts.sqlite')
    const old = new Database(path)
    old.exec(`
      CREATE TABLE incidents (
        id TEXT PRIMARY KEY, rule_id TEXT NOT NULL, subject TEXT NOT NULL, subject_type TEXT NOT NULL,
        device_ids TEXT NOT NULL, kind TEXT, level INTEGER NOT NULL, peak_level INTEGER NOT NULL, severity TEXT NOT NULL,
        title TEXT NOT NULL, state TEXT NOT NULL, metric TEXT, last_value REAL, peak_value REAL,
        raised_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
        acknowledged_at INTEGER, acknowledged_by TEXT, ack_note TEXT, cleared_at INTEGER, closed_at INTEGER);
      CREATE TABLE incident_events (
        incident_id TEXT NOT NULL, seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, type TEXT NOT NULL,
        level INTEGER NOT NULL, value REAL, by TEXT, note TEXT, claimed_by TEXT);
    `)
    old
      .prepare(
        `INSERT INTO incidents VALUES ('inc-old', 'flood', 'wl-1', 'device', '["wl-1"]', 'water_level', 1, 1, 'warning', '{"vi":"Báo động I","en":"Alarm I"}', 'open', 'waterLevelCm', 141, 141, ?, ?, NULL, NULL, NULL, NULL, NULL)`,
      )
      .run(T0, T0)
    old.close()
    const store = openIncidentStore(path)
    cleanups.push(() => store.close())
    expect(store.get('inc-old')).toMatchObject({ id: 'inc-old', level: 1, ward: null, action: null })
  })
})

describe('the one judge of a marker', () => {
  const reading = (fields: Record<string, number>): Pick<StoredReading, 'fields'> => ({ fields })
  const gauge = registry.get('wl-hydro-station')!
  const counter = registry.get('tc-ql1-trung-luong')!

  it('judges now, on the same levels as the engine: severity critical is alarm, warning is warning, below every level ok', () => {
    expect(judgeReading(defaultAlertRules, gauge, reading({ waterLevelCm: 139 }))).toBe('ok')
    expect(judgeReading(defaultAlertRules, gauge, reading({ waterLevelCm: 150 }))).toBe('warning')
    expect(judgeReading(defaultAlertRules, gauge, reading({ waterLevelCm: 160 }))).toBe('alarm')
    expect(judgeReading(defaultAlertRules, counter, reading({ avgSpeedKmh: 12, occupancyPct: 20 }))).toBe('warning')
    expect(judgeReading(defaultAlertRules, counter, reading({ avgSpeedKmh: 30, occupancyPct: 65 }))).toBe('alarm')
    const probe = registry.get('sal-thu-khoa-huan')!
    expect(judgeReading(defaultAlertRules, probe, reading({ salinityGL: 0.2 }))).toBe('ok')
    expect(judgeReading(defaultAlertRules, probe, reading({ salinityGL: 0.3 }))).toBe('warning')
    expect(judgeReading(defaultAlertRules, probe, reading({ salinityGL: 1.2 }))).toBe('warning')
  })

  it("leaves a weak battery to the incident panel unless the rule asks for the map, and applies a device's own levels", () => {
    const judge = createDeviceJudge(defaultAlertRules)
    expect(judge(gauge, reading({ waterLevelCm: 100, batteryV: 11.0 }))).toBe('ok')
    const battery = defaultAlertRules.find((r) => r.id === 'low-battery')!
    expect(createDeviceJudge([{ ...battery, onMap: true }])(gauge, reading({ batteryV: 11.0 }))).toBe('warning')
    const flood = defaultAlertRules.find((r) => r.id === 'flood')!
    if (flood.type !== 'threshold') throw new Error('flood is a threshold rule')
    const own = { ...flood, overrides: { 'wl-hydro-station': { levels: flood.levels.map((l) => ({ ...l, set: l.set - 60, clear: l.clear - 60 })) } } }
    expect(judgeReading([own], gauge, reading({ waterLevelCm: 101 }))).toBe('alarm')
    expect(judgeReading([own], registry.get('wl-my-phong-riverside')!, reading({ waterLevelCm: 101 }))).toBe('ok')
  })
})
