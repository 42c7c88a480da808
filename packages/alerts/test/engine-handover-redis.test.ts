import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { loadRegistryFile, type IncidentChange, type StoredReading } from '@mytho/schema'
import { startRedisServer, type RedisServer } from '@mytho/testing'
import { createAlertEngine, createRedisEngineStore, defaultAlertRules, redisOperatorIncidents } from '../src/index.ts'

/*
 * A device handed between two ingest workers whose alert state lives in Redis: each engine works on its own
 * mirror (its own connection, as on its own host), loads a device's state when it takes the device and commits
 * after each batch, the way ingest/src/alerting.ts drives it. A raise hold begun on worker A completes on
 * worker B at the right time, with one incident, and A writes nothing more for the device.
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

function worker(prefix: string, lease?: { key: string; token: string }) {
  let now = T0
  const owned = new Set<string>()
  const conn = new Redis(redis.url)
  conns.push(conn)
  const store = createRedisEngineStore(conn, { prefix, owns: (s) => owned.has(s), ...(lease ? { fence: () => lease } : {}) })
  const changes: IncidentChange[] = []
  const errors: unknown[] = []
  const engine = createAlertEngine({ rules: defaultAlertRules, registry, store, clock: () => now, onChange: (c) => changes.push(c) })
  return {
    store,
    changes,
    errors,
    async take(id: string) {
      owned.add(id)
      engine.forgetDevices(new Set([id]))
      await store.load([id])
    },
    async handBack(id: string) {
      engine.saveHolds()
      await store.commit()
      engine.forgetDevices(new Set([id]))
      store.unload([id])
      owned.delete(id)
    },
    /** One batch: evaluated, then committed (the ingest acknowledges after this resolves); how many writes were refused. */
    async read(at: number, cm: number): Promise<number> {
      now = at
      const d = registry.get(gauge)!
      const r: StoredReading = { deviceId: gauge, kind: d.kind, ward: d.ward, ts: at, tsSource: 'device', receivedAt: at, fields: { waterLevelCm: cm } }
      engine.onReadings([r], (err) => errors.push(err))
      return store.commit()
    },
  }
}

describe('alert state moving with a device between ingest workers on Redis', () => {
  it('a raise hold begun on worker A completes on worker B, once, and A writes nothing more for the device', async () => {
    const prefix = `handover-${Date.now()}`
    const a = worker(prefix)
    const b = worker(prefix)
    await a.take(gauge)
    await a.read(T0, 162)
    await a.read(T0 + 2 * min, 162) // BĐ III wanted, 5 min raise hold pending on A
    await a.handBack(gauge)
    await b.take(gauge)
    expect(b.store.getHold('flood', gauge)?.hold).toMatchObject({ level: 0, pendingLevel: 3, pendingSince: T0 })
    await b.read(T0 + 4 * min, 163)
    expect(b.changes).toEqual([])
    await b.read(T0 + 5 * min, 163)
    expect(a.changes).toEqual([])
    expect(b.changes.map((c) => `${c.event.type}:${c.event.level}`)).toEqual(['raised:3'])
    // The hold was begun at T0 on A, so B raises at T0 + 5 min, not 5 min after it took the gauge.
    expect(b.changes[0]!.incident.raisedAt).toBe(T0 + 5 * min)

    // A (say a late batch) cannot write the device's state any more: refused, nothing committed.
    await a.read(T0 + 6 * min, 170)
    expect(a.errors).toHaveLength(1)
    expect(String(a.errors[0])).toMatch(/not held by this worker/)
    expect(a.store.pending).toBe(0)

    const api = redisOperatorIncidents(conns[0]!, { prefix })
    const incidents = await api.list({ deviceId: gauge, active: true })
    expect(incidents.map((i) => [i.id, i.level, i.events.length])).toEqual([[b.changes[0]!.incident.id, 3, 1]])

    // Back to A: it reads B's hold, pointing at B's incident, and escalates nothing twice.
    await b.handBack(gauge)
    await a.take(gauge)
    expect(a.store.getHold('flood', gauge)?.incidentId).toBe(b.changes[0]!.incident.id)
    await a.read(T0 + 7 * min, 164)
    expect(a.changes).toEqual([])
    expect(await api.list({ deviceId: gauge })).toHaveLength(1)
  })

  it("a worker frozen past its lease cannot write over the next owner's state when it wakes (the lease fences its commits)", async () => {
    const prefix = `fence-${Date.now()}`
    const key = `${prefix}:lease:3`
    const admin = new Redis(redis.url)
    conns.push(admin)
    await admin.set(key, 'worker-a#1')
    const a = worker(prefix, { key, token: 'worker-a#1' })
    await a.take(gauge)
    expect(await a.read(T0, 162)).toBe(0)
    // A freezes; its lease expires and B takes the partition and the gauge's state.
    await admin.set(key, 'worker-b#1')
    const b = worker(prefix, { key, token: 'worker-b#1' })
    await b.take(gauge)
    await b.read(T0 + 5 * min, 163)
    expect(b.changes.map((c) => `${c.event.type}:${c.event.level}`)).toEqual(['raised:3'])
    // A wakes and judges a reading it had in hand (it has not yet seen that its lease is gone): refused in Redis.
    expect(await a.read(T0 + 5 * min, 163)).toBeGreaterThan(0)
    const api = redisOperatorIncidents(admin, { prefix })
    expect((await api.list({ deviceId: gauge })).map((i) => i.id)).toEqual([b.changes[0]!.incident.id])
    expect(JSON.parse((await admin.hget(`${prefix}:hold:${gauge}`, 'flood'))!)).toMatchObject({ incidentId: b.changes[0]!.incident.id })
  })

  it('a worker restarted without a hand-over (SIGKILL) resumes from what it committed', async () => {
    const prefix = `restart-${Date.now()}`
    const first = worker(prefix)
    await first.take(gauge)
    await first.read(T0, 162)
    await first.read(T0 + 2 * min, 162)
    // no handBack: the process is gone; only committed batches count
    const next = worker(prefix)
    await next.take(gauge)
    await next.read(T0 + 5 * min, 162)
    expect(next.changes.map((c) => `${c.event.type}:${c.event.level}`)).toEqual(['raised:3'])
  })
})
