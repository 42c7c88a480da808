import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { createAlertEngine, defaultAlertRules, openIncidentStore } from '@mytho/alerts'
import { REPLAY_MAX_AGE_MS, loadRegistryFile, type Incident, type ReplayChanges, type ReplayRow, type ReplayState, type StoredReading } from '@mytho/schema'
import { createSqliteStore } from '@mytho/storage'
import { makeTempDir } from '@mytho/testing'
import { startSecuredApi } from './auth-harness.ts'

/*
 * Issue #21: replay of a stored king tide. A river gauge reports every 5 minutes, rising through BĐ I (140 cm), II
 * (150) and III (160) and falling again, then goes silent; the real alert engine raises, escalates and clears its
 * incident in DATA_DIR/alerts.sqlite from the same readings. The API answers the city at any instant and the changes
 * in a window, judged by the live judge.
 */

const MIN = 60_000
const GAUGE = 'wl-my-phong-riverside' // intervalS 300: offline after 15 minutes of silence
/** The tide's start, 3 h ago on a 5-minute boundary. */
const T = Math.floor((Date.now() - 3 * 60 * MIN) / (5 * MIN)) * 5 * MIN
const LEVELS = [120, 130, 142, 146, 152, 155, 158, 162, 165, 163, 155, 145, 135, 125, 120, 118, 118, 118, 118, 118, 118]
/** One reading each 5 minutes, and a surge of 161 cm two minutes after 158 (inside that 5-minute bucket). */
const SURGE_AT = T + 32 * MIN
const LAST_AT = T + (LEVELS.length - 1) * 5 * MIN

const registry = loadRegistryFile()
const gauge = registry.get(GAUGE)!
const reading = (ts: number, cm: number): StoredReading => ({
  deviceId: GAUGE,
  kind: 'water_level',
  ward: gauge.ward,
  ts,
  tsSource: 'device',
  receivedAt: ts + 200,
  fields: { waterLevelCm: cm },
})
const readings = [...LEVELS.map((cm, k) => reading(T + k * 5 * MIN, cm)), reading(SURGE_AT, 161)].sort((a, b) => a.ts - b.ts)

/** The API over a data folder holding the tide's readings and the incidents the engine raised from them. */
async function kingTide() {
  const tmp = makeTempDir('mytho-replay-')
  onTestFinished(() => tmp.cleanup())
  const store = createSqliteStore({ path: join(tmp.path, 'readings.sqlite') })
  await store.writeReadings(readings)
  const incidents = openIncidentStore(join(tmp.path, 'alerts.sqlite'))
  onTestFinished(() => incidents.close())
  let now = T
  const engine = createAlertEngine({ rules: defaultAlertRules, registry, store: incidents, clock: () => now })
  for (const r of readings) {
    now = r.ts
    engine.onReading(r)
  }
  const [incident] = incidents.list({ active: false })
  const api = await startSecuredApi({}, tmp.path, undefined, undefined, store)
  return { api, incident: incident!, viewer: await api.signIn('viewer') }
}

const rowOf = (body: { ids: string[] }, rows: ReplayRow[], id: string) => rows.find((r) => r[0] === body.ids.indexOf(id))

describe('replay of a king tide (issue #21)', () => {
  it('the state at instants before, during and after: ok → warning → alarm → ok → offline, the incident as it stood', async () => {
    const { api, incident, viewer } = await kingTide()
    const types = incident.events.map((e) => e.type)
    expect(types.slice(0, 3)).toEqual(['raised', 'escalated', 'escalated'])
    expect(types.at(-1)).toBe('cleared')
    expect(incident.peakLevel).toBe(3)
    const raisedAt = incident.raisedAt
    const clearedAt = incident.clearedAt!
    // acknowledged now, which closes it: at every past instant it was not acknowledged yet
    const operator = await api.signIn('operator')
    expect((await api.call(operator, 'POST', `/incidents/${incident.id}/acknowledge`, { note: 'đã xem lại' })).body).toMatchObject({ state: 'closed' })
    const state = async (at: number, extra = '') => {
      const res = await api.call<ReplayState>(viewer, 'GET', `/replay/state?at=${at}${extra}`)
      expect(res.status, `at ${at}`).toBe(200)
      return { ...res.body, gauge: rowOf(res.body, res.body.rows, GAUGE)! }
    }

    const before = await state(T + 2 * MIN, '&resolution=raw')
    expect(before.resolution).toBe('raw')
    expect(before.ids).toEqual(registry.devices.map((d) => d.id).sort())
    expect(before.rows.map((r) => r[0])).toEqual(before.ids.map((_, i) => i))
    expect(before.gauge).toEqual([before.ids.indexOf(GAUGE), 'ok', T, { waterLevelCm: 120 }])
    expect(before.rows.filter((r) => r[1] === 'never_seen')).toHaveLength(before.ids.length - 1)
    expect(before.incidents).toEqual([])

    // 152 cm at 20 min: BĐ II is a warning; the incident raised by then is at the level it had then
    const warning = await state(T + 22 * MIN, '&resolution=raw')
    expect(warning.gauge.slice(1)).toEqual(['warning', T + 20 * MIN, { waterLevelCm: 152 }])
    expect(raisedAt).toBeLessThan(T + 22 * MIN)
    const then = warning.incidents.find((i) => i.id === incident.id)!
    const levelThen = incident.events.filter((e) => e.at <= T + 22 * MIN).at(-1)!.level
    expect(then).toMatchObject({ state: 'open', level: levelThen, severity: 'warning', clearedAt: null })
    expect(then.events.every((e) => e.at <= T + 22 * MIN)).toBe(true)
    expect(then.title.vi).toContain(levelThen === 1 ? 'Báo động I' : 'Báo động II')

    const alarm = await state(T + 37 * MIN, '&resolution=raw')
    expect(alarm.gauge.slice(1)).toEqual(['alarm', T + 35 * MIN, { waterLevelCm: 162 }])
    expect(alarm.incidents.map((i) => i.id)).toEqual([incident.id])
    // BĐ III is in force after its raise hold: the incident escalates a little after the marker turns
    expect(alarm.incidents[0]).toMatchObject({ state: 'open', acknowledgedAt: null, closedAt: null, level: 2, peakLevel: 2, severity: 'warning' })
    const atIII = incident.events.find((e) => e.level === 3)!.at
    const escalated = (await state(atIII, '&resolution=raw')).incidents[0]!
    expect(escalated).toMatchObject({ state: 'open', acknowledgedAt: null, level: 3, peakLevel: 3, severity: 'critical' })
    expect(escalated.title.vi).toContain('Báo động III')
    expect(escalated.events.map((e) => e.type)).not.toContain('acknowledged')

    // the 5-minute bucket of 30–35 min holds 158 and the 161 surge: its mean is BĐ II, its worst BĐ III
    expect((await state(T + 31 * MIN, '&resolution=raw')).gauge[1]).toBe('warning')
    const bucket = await state(T + 31 * MIN)
    expect(bucket.resolution).toBe('5m')
    expect(bucket.gauge.slice(1)).toEqual(['alarm', T + 30 * MIN, { waterLevelCm: 159.5 }])

    const after = await state(clearedAt + MIN)
    expect(after.gauge[1]).toBe('ok')
    expect(after.incidents).toEqual([])
    // still active a moment before it cleared, at its peak level reached then
    expect((await state(clearedAt - 1, '&resolution=raw')).incidents.map((i) => [i.id, i.state])).toEqual([[incident.id, 'open']])

    // silent for longer than three 5-minute intervals: offline, with its last reading
    const silent = await state(LAST_AT + 16 * MIN, '&resolution=raw')
    expect(silent.gauge.slice(1)).toEqual(['offline', LAST_AT, { waterLevelCm: 118 }])

    // filters: only water gauges of the gauge's ward, by id
    const filtered = await state(T + 37 * MIN, `&kinds=water_level&wards=${gauge.ward}`)
    expect(filtered.ids).toEqual(
      registry.devices
        .filter((d) => d.kind === 'water_level' && d.ward === gauge.ward)
        .map((d) => d.id)
        .sort(),
    )
    expect(filtered.incidents.map((i) => i.id)).toEqual([incident.id])
    expect((await state(T + 37 * MIN, '&kinds=traffic')).incidents).toEqual([])
  })

  it('the changes in a window: frames oldest first, a row only when status or value changed, the incident’s events', async () => {
    const { api, incident, viewer } = await kingTide()
    const from = T
    const to = T + 2 * 60 * MIN
    const res = await api.call<ReplayChanges>(viewer, 'GET', `/replay/changes?from=${new Date(from).toISOString()}&to=${to}`)
    expect(res.status).toBe(200)
    const body = res.body
    expect(body).toMatchObject({ from, to, resolution: 'raw' })
    const times = body.frames.map((f) => f.t)
    expect(times).toEqual([...times].sort((a, b) => a - b))
    expect(times.every((t) => t >= from && t < to)).toBe(true)
    const i = body.ids.indexOf(GAUGE)
    const gaugeRows = body.frames.flatMap((f) => f.rows.filter((r) => r[0] === i).map((r) => [f.t, r[1], r[3]?.['waterLevelCm']] as const))
    // every reading once, but the repeated 118s (same status, same value) only the first time; then offline
    const distinct = readings.filter((r, k) => k === 0 || r.fields['waterLevelCm'] !== readings[k - 1]!.fields['waterLevelCm'])
    expect(gaugeRows.slice(0, -1).map(([t, , cm]) => [t, cm])).toEqual(distinct.map((r) => [r.ts, r.fields['waterLevelCm']]))
    expect(gaugeRows.at(-1)).toEqual([LAST_AT + 15 * MIN + 1, 'offline', 118])
    const statuses = gaugeRows.map(([, s]) => s).filter((s, k, all) => k === 0 || s !== all[k - 1])
    expect(statuses).toEqual(['ok', 'warning', 'alarm', 'warning', 'ok', 'offline'])
    // nothing else in the city reported
    expect(body.frames.every((f) => f.rows.every((r) => r[0] === i))).toBe(true)
    const [inc] = body.incidents as Incident[]
    expect(inc).toMatchObject({ id: incident.id, state: 'cleared', events: incident.events })

    // a window after the incident's last event has none; a window longer than 6 h is answered in 5-minute buckets
    const quiet = await api.call<ReplayChanges>(viewer, 'GET', `/replay/changes?from=${LAST_AT + MIN}&to=${LAST_AT + 60 * MIN}`)
    expect(quiet.body.incidents).toEqual([])
    expect(quiet.body.frames.map((f) => f.t)).toEqual([LAST_AT + 15 * MIN + 1])
    const long = await api.call<ReplayChanges>(viewer, 'GET', `/replay/changes?from=${T - 5 * 60 * MIN}&to=${to}`)
    expect(long.body.resolution).toBe('5m')
    const buckets = long.body.frames.filter((f) => f.rows.some((r) => r[0] === i && r[1] !== 'offline'))
    expect(buckets.every((f) => f.t % (5 * MIN) === 0)).toBe(true)
    expect(buckets.find((f) => f.t === T + 30 * MIN)?.rows[0]?.slice(1)).toEqual(['alarm', T + 30 * MIN, { waterLevelCm: 159.5 }])
  })

  it('names a bad parameter in a 400; a viewer may replay, a caller without a session may not', async () => {
    const { api, viewer } = await kingTide()
    const now = Date.now()
    for (const [path, param] of [
      ['/replay/state', 'at'],
      ['/replay/state?at=yesterday', 'at'],
      [`/replay/state?at=${now - REPLAY_MAX_AGE_MS - 60 * MIN}`, 'at'],
      [`/replay/state?at=${now}&kinds=boat`, 'kinds'],
      [`/replay/state?at=${now}&wards=atlantis`, 'wards'],
      [`/replay/state?at=${now}&resolution=1h`, 'resolution'],
      [`/replay/changes?from=${now}&to=${now - MIN}`, 'to'],
      [`/replay/changes?from=${now - 25 * 60 * MIN}&to=${now}`, 'to'],
      [`/replay/changes?from=${now - REPLAY_MAX_AGE_MS - 60 * MIN}&to=${now - REPLAY_MAX_AGE_MS}`, 'from'],
      [`/replay/changes?from=${now - MIN}`, 'to'],
    ] as const) {
      const res = await api.call<{ error: string }>(viewer, 'GET', path)
      expect(res.status, path).toBe(400)
      expect(res.body.error, path).toMatch(new RegExp(`^invalid query parameter ${param}[.:]`))
    }
    expect((await api.call(undefined, 'GET', `/replay/state?at=${now}`)).status).toBe(401)
    expect((await api.call(undefined, 'GET', `/replay/changes?from=${now - MIN}&to=${now}`)).status).toBe(401)
  })
})
