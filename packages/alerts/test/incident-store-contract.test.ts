import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { IncidentEvent } from '@mytho/schema'
import { makeTempDir, startRedisServer, type RedisServer } from '@mytho/testing'
import {
  createRedisEngineStore,
  openIncidentStore,
  redisOperatorIncidents,
  sqliteOperatorIncidents,
  type EngineIncidentStore,
  type NewIncident,
  type OperatorIncidents,
} from '../src/index.ts'

/*
 * One contract for both incident stores: the SQLite file (one host) and Redis (REDIS_URL). The engine's side
 * writes, commits (a no-op for SQLite, where every transaction is durable) and the API's side reads and
 * acknowledges, through separate handles as separate processes would. `reopen` is a restart of every process.
 */

interface Side {
  engine: EngineIncidentStore
  commit(): Promise<void>
  api: OperatorIncidents
}
interface Backend {
  open(): Promise<Side>
  close(): Promise<void>
}

const T0 = Date.UTC(2026, 9, 8, 22, 0, 0)
const min = 60_000
const title = (n: string) => ({ vi: `Ngập do triều cường / lũ: Báo động ${n}`, en: `Flood (high water): Alarm ${n}` })

function incident(id: string, over: Partial<NewIncident> = {}): NewIncident {
  return {
    id,
    ruleId: 'flood',
    subject: 'wl-hydro-station',
    subjectType: 'device',
    deviceIds: ['wl-hydro-station'],
    kind: 'water_level',
    level: 1,
    peakLevel: 1,
    severity: 'warning',
    title: title('I'),
    state: 'open',
    metric: 'waterLevelCm',
    lastValue: 141.5,
    peakValue: 141.5,
    ward: 'my-tho',
    action: { vi: 'Theo dõi sát mực nước', en: 'Watch the level' },
    raisedAt: T0,
    updatedAt: T0,
    ...over,
  }
}
const raised = (inc: NewIncident): IncidentEvent => ({ at: inc.raisedAt, type: 'raised', level: inc.level, value: inc.lastValue })

function sqliteBackend(): Backend {
  const dir = makeTempDir('mytho-incidents-contract-')
  const open: { close(): void }[] = []
  return {
    async open() {
      // Two connections on one file, as the ingest and the API open it.
      const engine = openIncidentStore(join(dir.path, 'alerts.sqlite'))
      const api = openIncidentStore(join(dir.path, 'alerts.sqlite'))
      open.push(engine, api)
      return { engine, commit: async () => {}, api: sqliteOperatorIncidents(api) }
    },
    async close() {
      for (const s of open.splice(0)) s.close()
      dir.cleanup()
    },
  }
}

function redisBackend(server: () => RedisServer): Backend {
  const conns: Redis[] = []
  let prefix = ''
  return {
    async open() {
      prefix ||= `test:${Math.random().toString(36).slice(2)}`
      const [a, b] = [new Redis(server().url), new Redis(server().url)]
      conns.push(a, b)
      const engine = createRedisEngineStore(a, { prefix })
      await engine.loadAll()
      return { engine, commit: async () => void (await engine.commit()), api: redisOperatorIncidents(b, { prefix }) }
    },
    async close() {
      await Promise.all(conns.splice(0).map((c) => c.quit()))
      prefix = ''
    },
  }
}

let redis: RedisServer
beforeAll(async () => {
  redis = await startRedisServer()
})
afterAll(async () => {
  await redis?.stop()
})

describe.each([
  ['SQLite', () => sqliteBackend()],
  ['Redis', () => redisBackend(() => redis)],
] as const)('incident store contract: %s', (_name, make) => {
  let backend: Backend
  afterEach(async () => {
    await backend.close()
  })
  const open = async () => {
    backend = make()
    return backend.open()
  }

  it('keeps an incident, its events and hold records across a restart', async () => {
    const s = await open()
    const inc = incident('inc-a')
    s.engine.transaction(() => {
      s.engine.create(inc, raised(inc))
      s.engine.putHold('flood', inc.subject, {
        hold: { level: 1, pendingLevel: 2, pendingSince: T0 + min, lastAt: T0 + min },
        incidentId: 'inc-a',
        extra: { window: [[T0, 141.5, 1]] },
      })
      s.engine.putHold('low-battery', inc.subject, { hold: { level: 0, pendingLevel: null, pendingSince: null, lastAt: T0 }, incidentId: null, extra: {} })
    })
    await s.commit()
    const again = await backend.open()
    expect(again.engine.getHold('flood', inc.subject)).toEqual({
      hold: { level: 1, pendingLevel: 2, pendingSince: T0 + min, lastAt: T0 + min },
      incidentId: 'inc-a',
      extra: { window: [[T0, 141.5, 1]] },
    })
    expect(again.engine.getHold('salinity', inc.subject)).toBeUndefined()
    expect(again.engine.get('inc-a')).toMatchObject({ id: 'inc-a', state: 'open', title: title('I') })
    expect(await again.api.get('inc-a')).toEqual({
      ...inc,
      acknowledgedAt: null,
      acknowledgedBy: null,
      ackNote: null,
      clearedAt: null,
      closedAt: null,
      events: [{ at: T0, type: 'raised', level: 1, value: 141.5 }],
    })
    expect(await again.api.get('inc-nope')).toBeUndefined()
  })

  it('keeps the ward, moves the action with the level, keeps it at clearing; an incident without them reads null', async () => {
    const s = await open()
    const inc = incident('inc-w')
    s.engine.create(inc, raised(inc))
    const { ward: _w, action: _a, ...bare } = incident('inc-bare')
    s.engine.create(bare, raised(bare))
    const act3 = { vi: 'Rào chắn đường ngập', en: 'Close flooded roads' }
    const at = T0 + 6 * min
    s.engine.update(
      'inc-w',
      { level: 3, severity: 'critical', title: title('III'), value: 161, at, action: act3 },
      { at, type: 'escalated', level: 3, value: 161 },
    )
    await s.commit()
    expect(await s.api.get('inc-w')).toMatchObject({ ward: 'my-tho', action: act3 })
    expect(s.engine.get('inc-w')).toMatchObject({ ward: 'my-tho', action: act3 })
    const at0 = T0 + 30 * min
    s.engine.update(
      'inc-w',
      { level: 0, severity: 'critical', title: title('III'), value: 120, at: at0, cleared: true },
      { at: at0, type: 'cleared', level: 0, value: 120 },
    )
    s.engine.update(
      'inc-bare',
      { level: 2, severity: 'warning', title: title('II'), value: 151, at, action: null },
      { at, type: 'escalated', level: 2, value: 151 },
    )
    await s.commit()
    expect(await s.api.get('inc-w')).toMatchObject({ state: 'cleared', action: act3 })
    expect(await s.api.get('inc-bare')).toMatchObject({ level: 2, ward: null, action: null })
  })

  it("an acknowledgement survives the engine's next level changes; a worse severity reopens it; clearing closes an acknowledged one", async () => {
    const s = await open()
    const inc = incident('inc-b')
    s.engine.create(inc, raised(inc))
    await s.commit()
    const acked = await s.api.acknowledge('inc-b', 'Trần Văn Minh', 'Đã cử đội trực đê', T0 + 2 * min)
    expect(acked).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'Trần Văn Minh', ackNote: 'Đã cử đội trực đê', acknowledgedAt: T0 + 2 * min })
    // The engine's view may not know of the acknowledgement yet; its update still keeps it.
    const at = T0 + 6 * min
    s.engine.update('inc-b', { level: 2, severity: 'warning', title: title('II'), value: 151, at }, { at, type: 'escalated', level: 2, value: 151 })
    await s.commit()
    expect(await s.api.get('inc-b')).toMatchObject({
      state: 'acknowledged',
      level: 2,
      peakLevel: 2,
      peakValue: 151,
      acknowledgedBy: 'Trần Văn Minh',
      ackNote: 'Đã cử đội trực đê',
    })
    const at3 = T0 + 12 * min
    s.engine.update(
      'inc-b',
      { level: 3, severity: 'critical', title: title('III'), value: 161, at: at3, reopen: true },
      { at: at3, type: 'escalated', level: 3, value: 161 },
    )
    await s.commit()
    expect(await s.api.get('inc-b')).toMatchObject({ state: 'open', severity: 'critical', acknowledgedAt: null, acknowledgedBy: null, ackNote: null })
    expect((await s.api.acknowledge('inc-b', 'Lê Thị Hoa', undefined, at3 + min))?.state).toBe('acknowledged')
    const at0 = T0 + 40 * min
    s.engine.update(
      'inc-b',
      { level: 0, severity: 'critical', title: title('III'), value: 120, at: at0, cleared: true },
      { at: at0, type: 'cleared', level: 0, value: 120 },
    )
    await s.commit()
    const closed = (await s.api.get('inc-b'))!
    expect(closed).toMatchObject({
      state: 'closed',
      level: 0,
      peakLevel: 3,
      peakValue: 161,
      lastValue: 120,
      clearedAt: at0,
      closedAt: at0,
      acknowledgedBy: 'Lê Thị Hoa',
    })
    expect(closed.events.map((e) => `${e.type}:${e.level}${e.by ? `:${e.by}` : ''}`)).toEqual([
      'raised:1',
      'acknowledged:1:Trần Văn Minh',
      'escalated:2',
      'escalated:3',
      'acknowledged:3:Lê Thị Hoa',
      'cleared:0',
    ])
    expect(closed.events[1]).toEqual({ at: T0 + 2 * min, type: 'acknowledged', level: 1, value: null, by: 'Trần Văn Minh', note: 'Đã cử đội trực đê' })
    expect(await s.api.list({ active: true })).toEqual([])
    expect((await s.api.list({ state: 'closed' })).map((i) => i.id)).toEqual(['inc-b'])
  })

  it("an anonymous acknowledgement keeps the name it claims apart from its actor, in its event, through the engine's next change", async () => {
    const s = await open()
    const inc = incident('inc-anon')
    s.engine.create(inc, raised(inc))
    await s.commit()
    const acked = (await s.api.acknowledge('inc-anon', 'anonymous@192.0.2.7', 'đã xem', T0 + min, 'mallory'))!
    expect(acked).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'anonymous@192.0.2.7', ackNote: 'đã xem' })
    const event = { at: T0 + min, type: 'acknowledged', level: 1, value: null, by: 'anonymous@192.0.2.7', claimedBy: 'mallory', note: 'đã xem' }
    expect(acked.events[1]).toEqual(event)
    const at = T0 + 6 * min
    s.engine.update('inc-anon', { level: 2, severity: 'warning', title: title('II'), value: 151, at }, { at, type: 'escalated', level: 2, value: 151 })
    await s.commit()
    const again = await backend.open()
    expect((await again.api.get('inc-anon'))!.events.map((e) => e.type)).toEqual(['raised', 'acknowledged', 'escalated'])
    expect((await again.api.get('inc-anon'))!.events[1]).toEqual(event)
    // a signed-in operator's acknowledgement claims nothing
    const other = incident('inc-signed')
    s.engine.create(other, raised(other))
    await s.commit()
    expect((await s.api.acknowledge('inc-signed', 'minh', undefined, T0 + min))!.events[1]).toEqual({
      at: T0 + min,
      type: 'acknowledged',
      level: 1,
      value: null,
      by: 'minh',
    })
  })

  it('acknowledging a cleared incident closes it; a second acknowledgement changes nothing; an unknown id is undefined', async () => {
    const s = await open()
    const inc = incident('inc-c')
    s.engine.create(inc, raised(inc))
    const at = T0 + 20 * min
    s.engine.update('inc-c', { level: 0, severity: 'warning', title: title('I'), value: 120, at, cleared: true }, { at, type: 'cleared', level: 0, value: 120 })
    await s.commit()
    expect((await s.api.get('inc-c'))?.state).toBe('cleared')
    const closed = await s.api.acknowledge('inc-c', 'minh', undefined, at + min)
    expect(closed).toMatchObject({ state: 'closed', closedAt: at + min, acknowledgedAt: at + min })
    expect(closed?.events.slice(-2)).toEqual([
      { at: at + min, type: 'acknowledged', level: 0, value: null, by: 'minh' },
      { at: at + min, type: 'closed', level: 0, value: null },
    ])
    expect((await s.api.acknowledge('inc-c', 'hoa', 'late', at + 2 * min))?.acknowledgedBy).toBe('minh')
    expect(await s.api.acknowledge('inc-none', 'hoa', undefined, at)).toBeUndefined()
  })

  it('acknowledges many with one note: by ids (missing and already acknowledged skipped), or every unacknowledged one of a rule', async () => {
    const s = await open()
    const silent = (id: string, device: string, raisedAt: number) =>
      incident(id, {
        ruleId: 'device-silent',
        subject: device,
        deviceIds: [device],
        metric: null,
        lastValue: null,
        peakValue: null,
        raisedAt,
        updatedAt: raisedAt,
      })
    const flood = incident('f-1')
    const all = [
      silent('s-1', 'rg-my-tho', T0),
      silent('s-2', 'aq-my-tho', T0 + 1),
      silent('s-3', 'tc-ql1-trung-luong', T0 + 2),
      silent('s-4', 'sal-cho-gao', T0 + 3),
    ]
    for (const inc of [flood, ...all]) s.engine.create(inc, raised(inc))
    const at = T0 + 10 * min
    // s-2 came back (cleared, still waiting for its acknowledgement); s-3 was acknowledged by someone else.
    s.engine.update('s-2', { level: 0, severity: 'warning', title: title('I'), value: null, at, cleared: true }, { at, type: 'cleared', level: 0, value: null })
    await s.commit()
    await s.api.acknowledge('s-3', 'hoa', undefined, at)

    const byIds = await s.api.acknowledgeMany({ ids: ['s-1', 's-3', 'nope', 's-1'] }, 'minh', 'mất điện khu vực, đã báo điện lực', at + min)
    expect(byIds.acknowledged.map((i) => [i.id, i.state, i.acknowledgedBy, i.ackNote])).toEqual([
      ['s-1', 'acknowledged', 'minh', 'mất điện khu vực, đã báo điện lực'],
    ])
    expect(byIds.skipped).toEqual([
      { id: 's-3', reason: 'already acknowledged' },
      { id: 'nope', reason: 'not found' },
    ])
    expect((await s.api.get('s-3'))?.acknowledgedBy).toBe('hoa')

    const byRule = await s.api.acknowledgeMany({ ruleId: 'device-silent' }, 'anonymous@127.0.0.1', 'khởi động lại', at + 2 * min, 'Lan')
    expect(byRule.acknowledged.map((i) => `${i.id}:${i.state}`).sort()).toEqual(['s-2:closed', 's-4:acknowledged'])
    expect(byRule.skipped).toEqual([])
    const s4 = (await s.api.get('s-4'))!
    expect(s4.events.at(-1)).toEqual({
      at: at + 2 * min,
      type: 'acknowledged',
      level: 1,
      value: null,
      by: 'anonymous@127.0.0.1',
      claimedBy: 'Lan',
      note: 'khởi động lại',
    })
    expect((await s.api.get('s-2'))?.events.map((e) => e.type)).toEqual(['raised', 'cleared', 'acknowledged', 'closed'])
    // Another rule's incident is not touched; nothing of the rule waits any more.
    expect((await s.api.get('f-1'))?.state).toBe('open')
    expect(await s.api.acknowledgeMany({ ruleId: 'device-silent' }, 'minh', undefined, at + 3 * min)).toEqual({ acknowledged: [], skipped: [] })
  })

  it('tracks the latest and worst value without an event, devices of a road incident, and the latest event of a type', async () => {
    const s = await open()
    const road = incident('inc-road', {
      ruleId: 'congestion',
      subject: 'Ấp Bắc',
      subjectType: 'road',
      deviceIds: ['tc-a'],
      kind: 'traffic',
      metric: 'avgSpeedKmh',
      lastValue: 14,
      peakValue: 14,
    })
    s.engine.create(road, raised(road))
    s.engine.touchValue('inc-road', 9, 'below', T0 + min)
    s.engine.touchValue('inc-road', 12, 'below', T0 + 2 * min)
    s.engine.touchValue('inc-road', 20, 'below', T0 + min / 2) // older: updatedAt keeps the latest
    s.engine.addDevice('inc-road', 'tc-b')
    s.engine.addDevice('inc-road', 'tc-b')
    s.engine.recordEvent('inc-road', { at: T0 + 15 * min, type: 'reminded', level: 1, value: 12 })
    s.engine.recordEvent('inc-road', { at: T0 + 30 * min, type: 'reminded', level: 1, value: 12 })
    expect(s.engine.lastEventAt('inc-road', 'reminded')).toBe(T0 + 30 * min)
    expect(s.engine.lastEventAt('inc-road', 'escalated')).toBeUndefined()
    await s.commit()
    const got = (await s.api.get('inc-road'))!
    expect(got).toMatchObject({ lastValue: 20, peakValue: 9, updatedAt: T0 + 2 * min, deviceIds: ['tc-a', 'tc-b'] })
    expect(got.events.map((e) => e.type)).toEqual(['raised', 'reminded', 'reminded'])
    expect((await s.api.list({ deviceId: 'tc-b' })).map((i) => i.id)).toEqual(['inc-road'])
  })

  it('lists by active, device, rule, severity, state and time, worst severity first then oldest, with a limit', async () => {
    const s = await open()
    const all = [
      incident('i1', { raisedAt: T0 + 1, updatedAt: T0 + 1 }),
      incident('i2', { raisedAt: T0 + 2, updatedAt: T0 + 2, severity: 'critical', level: 3, peakLevel: 3 }),
      incident('i3', { raisedAt: T0 + 3, updatedAt: T0 + 3, ruleId: 'salinity', subject: 'sal-1', deviceIds: ['sal-1'], kind: 'salinity', severity: 'info' }),
      incident('i4', { raisedAt: T0 + 4, updatedAt: T0 + 4, subject: 'wl-2', deviceIds: ['wl-2'] }),
      incident('i5', { raisedAt: T0 + 5, updatedAt: T0 + 5, severity: 'critical', level: 3, peakLevel: 3, subject: 'wl-2', deviceIds: ['wl-2'] }),
    ]
    for (const i of all) s.engine.create(i, raised(i))
    s.engine.update(
      'i4',
      { level: 0, severity: 'warning', title: title('I'), value: 100, at: T0 + 50, cleared: true },
      { at: T0 + 50, type: 'cleared', level: 0, value: 100 },
    )
    await s.commit()
    await s.api.acknowledge('i4', 'minh', undefined, T0 + 60) // closes it
    await s.api.acknowledge('i1', 'minh', undefined, T0 + 60)
    const ids = async (q: Parameters<OperatorIncidents['list']>[0]) => (await s.api.list(q)).map((i) => i.id)
    expect(await ids({})).toEqual(['i2', 'i5', 'i1', 'i4', 'i3'])
    expect(await ids({ active: true })).toEqual(['i2', 'i5', 'i1', 'i3'])
    expect(await ids({ active: true, limit: 2 })).toEqual(['i2', 'i5'])
    expect(await ids({ deviceId: 'wl-2' })).toEqual(['i5', 'i4'])
    expect(await ids({ ruleId: 'salinity' })).toEqual(['i3'])
    expect(await ids({ severity: 'warning' })).toEqual(['i1', 'i4'])
    expect(await ids({ state: 'acknowledged' })).toEqual(['i1'])
    expect(await ids({ state: 'open', severity: 'critical', ruleId: 'flood' })).toEqual(['i2', 'i5'])
    expect(await ids({ from: T0 + 2, to: T0 + 5 })).toEqual(['i2', 'i4', 'i3'])
    expect(await ids({ active: true, deviceId: 'wl-hydro-station', from: T0 + 2 })).toEqual(['i2'])
  })

  it("the incident log: by ward (its own, else its devices' for an old row) and by life in [from, to) with range=active (issue #17)", async () => {
    const s = await open()
    const all = [
      incident('w1', { raisedAt: T0 + 1, updatedAt: T0 + 1, ward: 'my-tho' }),
      // stored before incidents kept a ward: placed by its device
      incident('w2', { raisedAt: T0 + 2, updatedAt: T0 + 2, ward: null, subject: 'wl-ts', deviceIds: ['wl-ts'] }),
      incident('w3', {
        raisedAt: T0 + 3,
        updatedAt: T0 + 3,
        ward: 'thoi-son',
        subject: 'wl-x',
        deviceIds: ['wl-x'],
        severity: 'critical',
        level: 3,
        peakLevel: 3,
      }),
      incident('w4', { raisedAt: T0 + 10 * min, updatedAt: T0 + 10 * min, ward: 'my-tho', subject: 'wl-y', deviceIds: ['wl-y'] }),
    ]
    for (const i of all) s.engine.create(i, raised(i))
    // w1 closes at T0 + 5 min; w3 is cleared, not acknowledged
    s.engine.update(
      'w1',
      { level: 0, severity: 'warning', title: title('I'), value: 100, at: T0 + 4 * min, cleared: true },
      { at: T0 + 4 * min, type: 'cleared', level: 0, value: 100 },
    )
    s.engine.update(
      'w3',
      { level: 0, severity: 'critical', title: title('III'), value: 100, at: T0 + 4 * min, cleared: true },
      { at: T0 + 4 * min, type: 'cleared', level: 0, value: 100 },
    )
    await s.commit()
    await s.api.acknowledge('w1', 'minh', 'đã kiểm tra', T0 + 5 * min)
    const ids = async (q: Parameters<OperatorIncidents['list']>[0]) => (await s.api.list(q)).map((i) => i.id)
    expect(await ids({ ward: 'thoi-son', wardDeviceIds: ['wl-ts'] })).toEqual(['w3', 'w2'])
    expect(await ids({ ward: 'my-tho', wardDeviceIds: ['wl-hydro-station', 'wl-y'] })).toEqual(['w1', 'w4'])
    expect(await ids({ ward: 'my-tho', wardDeviceIds: ['wl-hydro-station', 'wl-y'], active: true })).toEqual(['w4'])
    expect(await ids({ ward: 'trung-an', wardDeviceIds: [] })).toEqual([])
    // raised in [T0 + 6 min, ...): only w4; alive in it: every one not closed before, w1 is out
    expect(await ids({ from: T0 + 6 * min })).toEqual(['w4'])
    expect(await ids({ from: T0 + 6 * min, range: 'active' })).toEqual(['w3', 'w2', 'w4'])
    expect(await ids({ from: T0 + 5 * min, to: T0 + 10 * min, range: 'active' })).toEqual(['w3', 'w1', 'w2'])
    expect(await ids({ from: T0 + 5 * min, range: 'active', state: 'closed' })).toEqual(['w1'])
    expect(await ids({ from: T0 + 5 * min, range: 'active', ward: 'thoi-son', wardDeviceIds: ['wl-ts'], severity: 'warning' })).toEqual(['w2'])
  })

  it('replay (issue #21): range=replay lists every incident alive at `from` or changed since, raised before `to`', async () => {
    const s = await open()
    const all = [
      incident('r1', { raisedAt: T0 + 1, updatedAt: T0 + 1 }),
      incident('r2', { raisedAt: T0 + 2, updatedAt: T0 + 2, subject: 'wl-a', deviceIds: ['wl-a'] }),
      incident('r3', { raisedAt: T0 + 3, updatedAt: T0 + 3, subject: 'wl-b', deviceIds: ['wl-b'], severity: 'critical', level: 3, peakLevel: 3 }),
      incident('r4', { raisedAt: T0 + 10 * min, updatedAt: T0 + 10 * min, subject: 'wl-c', deviceIds: ['wl-c'] }),
    ]
    for (const i of all) s.engine.create(i, raised(i))
    // r1 cleared at 4 min and acknowledged (closed) at 5; r3 cleared at 4 min, never acknowledged
    for (const [id, sev, n] of [
      ['r1', 'warning', 'I'],
      ['r3', 'critical', 'III'],
    ] as const)
      s.engine.update(
        id,
        { level: 0, severity: sev, title: title(n), value: 100, at: T0 + 4 * min, cleared: true },
        { at: T0 + 4 * min, type: 'cleared', level: 0, value: 100 },
      )
    await s.commit()
    await s.api.acknowledge('r1', 'minh', undefined, T0 + 5 * min)
    const ids = async (q: Parameters<OperatorIncidents['list']>[0]) => (await s.api.list({ range: 'replay', ...q })).map((i) => i.id)
    // after every change: the ones still not cleared
    expect(await ids({ from: T0 + 6 * min })).toEqual(['r2', 'r4'])
    // r3's clearing at 4 min and r1's acknowledgement at 5 are in [4 min, 10 min); r4 is raised at its end
    expect(await ids({ from: T0 + 4 * min, to: T0 + 10 * min })).toEqual(['r3', 'r1', 'r2'])
    expect(await ids({ from: T0 + 4 * min + 1, to: T0 + 10 * min })).toEqual(['r1', 'r2'])
  })

  it('a transaction that throws leaves nothing of itself behind', async () => {
    const s = await open()
    const inc = incident('inc-t')
    expect(() =>
      s.engine.transaction(() => {
        s.engine.create(inc, raised(inc))
        s.engine.putHold('flood', inc.subject, { hold: { level: 1, pendingLevel: null, pendingSince: null, lastAt: T0 }, incidentId: 'inc-t', extra: {} })
        throw new Error('evaluation bug')
      }),
    ).toThrow('evaluation bug')
    await s.commit()
    expect(s.engine.getHold('flood', inc.subject)).toBeUndefined()
    expect(s.engine.get('inc-t')).toBeUndefined()
    expect(await s.api.get('inc-t')).toBeUndefined()
  })
})
