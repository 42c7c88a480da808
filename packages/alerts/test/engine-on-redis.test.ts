import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { loadRegistryFile, type IncidentChange, type StoredReading } from '@mytho/schema'
import { startRedisServer, type RedisServer } from '@mytho/testing'
import { createAlertEngine, createRedisEngineStore, defaultAlertRules, redisOperatorIncidents } from '../src/index.ts'

/*
 * The engine's rules on the Redis store behave as on SQLite (engine.test.ts), driven the way the ingest drives
 * them (ingest/src/alerting.ts): each batch evaluated then committed, each tick after reading the mirrored
 * incidents again, acknowledgements made through the API's store on another connection.
 */
const registry = loadRegistryFile()
const T0 = Date.UTC(2026, 9, 8, 22, 0, 0)
const min = 60_000
const gauge = 'wl-hydro-station'
let redis: RedisServer
const conns: Redis[] = []
beforeAll(async () => {
  redis = await startRedisServer()
})
afterEach(async () => {
  await Promise.all(conns.splice(0).map((c) => c.quit()))
})
afterAll(async () => {
  await redis?.stop()
})

const connect = () => {
  const c = new Redis(redis.url)
  conns.push(c)
  return c
}

async function setup(prefix = `engine-${Math.random().toString(36).slice(2)}`) {
  let now = T0
  const store = createRedisEngineStore(connect(), { prefix })
  await store.loadAll()
  const api = redisOperatorIncidents(connect(), { prefix })
  const changes: IncidentChange[] = []
  const engine = createAlertEngine({ rules: defaultAlertRules, registry, store, clock: () => now, onChange: (c) => changes.push(c) })
  return {
    prefix,
    store,
    api,
    engine,
    changes,
    setNow: (t: number) => (now = t),
    async read(deviceId: string, at: number, fields: Record<string, number>) {
      now = Math.max(now, at)
      const d = registry.get(deviceId)!
      const r: StoredReading = { deviceId, kind: d.kind, ward: d.ward, ts: at, tsSource: 'device', receivedAt: at, fields }
      engine.onReadings([r], (err) => {
        throw err
      })
      await store.commit()
    },
    async tick(at: number) {
      await store.refresh()
      engine.tick(at)
      await store.commit()
    },
  }
}
const types = (changes: IncidentChange[], ruleId?: string) =>
  changes.filter((c) => !ruleId || c.incident.ruleId === ruleId).map((c) => `${c.event.type}:${c.event.level}`)

describe('the rule engine on the Redis incident store', () => {
  it('escalates and clears one incident; acknowledged, reopened by a worse severity, closed on clearing', async () => {
    const s = await setup()
    for (const [i, cm] of [141, 142].entries()) await s.read(gauge, T0 + i * 5 * min, { waterLevelCm: cm })
    const id = s.changes[0]!.incident.id
    expect(await s.api.acknowledge(id, 'trực ban Lan', 'đã báo phường', T0 + 11 * min)).toMatchObject({ state: 'acknowledged' })
    for (const [i, cm] of [151, 152].entries()) await s.read(gauge, T0 + (12 + i * 5) * min, { waterLevelCm: cm })
    expect(await s.api.get(id)).toMatchObject({ level: 2, state: 'acknowledged', acknowledgedBy: 'trực ban Lan' })
    for (const [i, cm] of [165, 166].entries()) await s.read(gauge, T0 + (18 + i * 5) * min, { waterLevelCm: cm })
    expect(await s.api.get(id)).toMatchObject({ state: 'open', severity: 'critical', acknowledgedAt: null })
    await s.api.acknowledge(id, 'trực ban Minh', undefined, T0 + 24 * min)
    for (const [i, cm] of [100, 100, 100, 100, 100].entries()) await s.read(gauge, T0 + (25 + i * 5) * min, { waterLevelCm: cm })
    expect(types(s.changes, 'flood')).toEqual(['raised:1', 'escalated:2', 'escalated:3', 'cleared:0'])
    const closed = (await s.api.get(id))!
    expect(closed).toMatchObject({ state: 'closed', level: 0, peakLevel: 3, peakValue: 166, acknowledgedBy: 'trực ban Minh' })
    expect(closed.events.map((e) => e.type)).toEqual(['raised', 'acknowledged', 'escalated', 'escalated', 'acknowledged', 'cleared'])
    expect(await s.api.list({ active: true })).toEqual([])
  })

  it('reminds of an unacknowledged critical incident and stops once it is acknowledged on another connection', async () => {
    const s = await setup()
    for (const [i, cm] of [170, 170].entries()) await s.read(gauge, T0 + i * 5 * min, { waterLevelCm: cm })
    const id = s.changes[0]!.incident.id
    for (const at of [10, 21, 25, 37]) await s.tick(T0 + at * min)
    expect(types(s.changes, 'flood')).toEqual(['raised:3', 'reminded:3', 'reminded:3'])
    await s.api.acknowledge(id, 'op', undefined, T0 + 38 * min)
    await s.tick(T0 + 60 * min)
    expect(types(s.changes, 'flood')).toEqual(['raised:3', 'reminded:3', 'reminded:3'])
    expect((await s.api.get(id))!.events.map((e) => e.type)).toEqual(['raised', 'reminded', 'reminded', 'acknowledged'])
  })

  it('congestion is one incident per road segment with every congested counter on it', async () => {
    const s = await setup()
    const a = 'tc-ql1-trung-luong'
    const b = 'tc-ql1-kp2-p10'
    // slow, not jammed: the first congestion level
    const slow = { avgSpeedKmh: 12, occupancyPct: 50, vehicleCount: 40, intervalS: 60 }
    const free = { avgSpeedKmh: 45, occupancyPct: 10, vehicleCount: 20, intervalS: 60 }
    await s.read(a, T0, slow)
    await s.read(b, T0 + min, slow)
    await s.read(a, T0 + 5 * min, slow)
    const id = s.changes[0]!.incident.id
    expect((await s.api.list({ deviceId: b })).map((i) => i.id)).toEqual([id])
    await s.read(b, T0 + 6 * min, free)
    await s.read(a, T0 + 10 * min, free)
    await s.read(a, T0 + 21 * min, free)
    expect(types(s.changes, 'congestion')).toEqual(['raised:1', 'cleared:0'])
    expect((await s.api.get(id))!).toMatchObject({ subject: 'QL1', subjectType: 'road', state: 'cleared' })
    expect((await s.api.get(id))!.deviceIds.sort()).toEqual([a, b].sort())
  })

  it('a PM2.5 mean window saved at a graceful stop is whole in the next run', async () => {
    const aq = 'aq-cho-my-tho'
    const h = 60 * min
    const first = await setup()
    for (let i = 0; i <= 4; i++) await first.read(aq, T0 + i * h, { pm25UgM3: 40 })
    // Within a minute of the last save of the window: kept in memory only, until saveHolds().
    await first.read(aq, T0 + 4 * h + 30_000, { pm25UgM3: 400 })
    expect(types(first.changes, 'pm25')).toEqual([]) // under a quarter of a day: no verdict yet
    first.engine.saveHolds()
    await first.store.commit()
    const next = await setup(first.prefix)
    await next.read(aq, T0 + 6 * h + 1000, { pm25UgM3: 40 })
    // (5 × 40 + 400 + 40) / 7 ≈ 91 µg/m³ over 6 h: judged, above the limit; without the 400 it would be 40.
    expect(types(next.changes, 'pm25')).toEqual(['raised:1'])
  })
})
