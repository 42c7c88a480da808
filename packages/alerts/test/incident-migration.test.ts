import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IncidentEvent } from '@mytho/schema'
import { makeTempDir, startRedisServer, type RedisServer } from '@mytho/testing'
import { createRedisEngineStore, migrateIncidentsToRedis, openIncidentStore, redisOperatorIncidents, type NewIncident } from '../src/index.ts'

/*
 * A one-host install moving to Redis: alerts.sqlite's incidents (acknowledged, closed, a road's with two
 * counters) and hold timers are copied as they are, found by the same list queries, and the engine picks the holds
 * up; a second run copies nothing and an incident Redis already has is left alone.
 */
describe('copying alerts.sqlite into Redis', () => {
  const dir = makeTempDir('mytho-incident-migration-')
  let redis: RedisServer
  const conns: Redis[] = []
  beforeAll(async () => {
    redis = await startRedisServer()
  })
  afterAll(async () => {
    await Promise.all(conns.map((c) => c.quit()))
    await redis?.stop()
    dir.cleanup()
  })

  it('copies incidents with their events, acknowledgements and indexes, and the hold records, once', async () => {
    const T0 = Date.UTC(2026, 9, 8, 22, 0, 0)
    const path = join(dir.path, 'alerts.sqlite')
    const sqlite = openIncidentStore(path)
    const base = (id: string, over: Partial<NewIncident> = {}): NewIncident => ({
      id,
      ruleId: 'flood',
      subject: 'wl-hydro-station',
      subjectType: 'device',
      deviceIds: ['wl-hydro-station'],
      kind: 'water_level',
      level: 1,
      peakLevel: 1,
      severity: 'warning',
      title: { vi: 'Ngập do triều cường / lũ: Báo động I', en: 'Flood (high water): Alarm level I' },
      state: 'open',
      metric: 'waterLevelCm',
      lastValue: 141,
      peakValue: 141,
      raisedAt: T0,
      updatedAt: T0,
      ...over,
    })
    const raised = (i: NewIncident): IncidentEvent => ({ at: i.raisedAt, type: 'raised', level: i.level, value: i.lastValue })
    const a = base('inc-a')
    const b = base('inc-b', { raisedAt: T0 + 1, updatedAt: T0 + 1, severity: 'critical', level: 3, peakLevel: 3 })
    const road = base('inc-road', {
      ruleId: 'congestion',
      subject: 'QL1',
      subjectType: 'road',
      deviceIds: ['tc-a'],
      kind: 'traffic',
      metric: 'avgSpeedKmh',
      raisedAt: T0 + 2,
      updatedAt: T0 + 2,
    })
    for (const i of [a, b, road]) sqlite.create(i, raised(i))
    sqlite.addDevice('inc-road', 'tc-b')
    sqlite.acknowledge('inc-a', 'Trần Văn Minh', 'Đã cử đội trực đê', T0 + 60_000)
    sqlite.update(
      'inc-b',
      { level: 0, severity: 'critical', title: b.title, value: 120, at: T0 + 600_000, cleared: true },
      { at: T0 + 600_000, type: 'cleared', level: 0, value: 120 },
    )
    sqlite.acknowledge('inc-b', 'hoa', undefined, T0 + 700_000) // closes it
    sqlite.recordEvent('inc-a', { at: T0 + 900_000, type: 'reminded', level: 1, value: 141 })
    const hold = { hold: { level: 1, pendingLevel: 2, pendingSince: T0 + 5, lastAt: T0 + 6 }, incidentId: 'inc-a', extra: {} }
    sqlite.putHold('flood', 'wl-hydro-station', hold)
    sqlite.putHold('congestion', 'QL1', {
      hold: { level: 1, pendingLevel: null, pendingSince: null, lastAt: T0 },
      incidentId: 'inc-road',
      extra: { active: { 'tc-a': true, 'tc-b': true } },
    })
    const expected = ['inc-a', 'inc-b', 'inc-road'].map((id) => sqlite.get(id))
    sqlite.close()

    const conn = new Redis(redis.url)
    conns.push(conn)
    expect(await migrateIncidentsToRedis(path, conn)).toEqual({ incidents: 3, events: 8, holds: 2 })
    const api = redisOperatorIncidents(conn)
    for (const inc of expected) expect(await api.get(inc!.id)).toEqual(inc)
    expect((await api.list({ active: true })).map((i) => i.id)).toEqual(['inc-a', 'inc-road'])
    expect((await api.list({ state: 'closed' })).map((i) => i.id)).toEqual(['inc-b'])
    expect((await api.list({ deviceId: 'tc-b' })).map((i) => i.id)).toEqual(['inc-road'])

    const engine = createRedisEngineStore(conn)
    await engine.load(['wl-hydro-station', 'QL1'])
    expect(engine.getHold('flood', 'wl-hydro-station')).toEqual(hold)
    expect(engine.get('inc-road')?.deviceIds).toEqual(['tc-a', 'tc-b'])
    expect(engine.lastEventAt('inc-a', 'reminded')).toBe(T0 + 900_000)

    // A second run copies nothing, and what Redis has stays as it is.
    expect(await migrateIncidentsToRedis(path, conn)).toEqual({ incidents: 0, events: 0, holds: 0 })
    expect(await api.get('inc-a')).toEqual(expected[0])
  })

  it('names the file when there is none', async () => {
    const conn = new Redis(redis.url)
    conns.push(conn)
    await expect(migrateIncidentsToRedis(join(dir.path, 'nope.sqlite'), conn)).rejects.toThrow(/no incident store at .*nope\.sqlite/)
  })
})
