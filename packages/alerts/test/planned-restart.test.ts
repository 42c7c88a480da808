import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadRegistryFile, type IncidentChange, type StoredReading } from '@mytho/schema'
import { makeTempDir } from '@mytho/testing'
import { createAlertEngine, defaultAlertRules, openIncidentStore } from '../src/index.ts'

/*
 * Planned restarts are not incidents (issue #17, finding 5): after the platform's own downtime silence counts from when
 * the engine was listening again, plus the rule's grace of the device's interval multiple; a device's planned goodbye
 * (`offline:planned`) is not its Last Will.
 */
const registry = loadRegistryFile()
const T0 = Date.UTC(2026, 9, 8, 22, 0, 0)
const min = 60_000
const rg = 'rg-my-tho' // reports every 300 s: silent after 3 × 300 s = 15 min
const grace = 3 * registry.get(rg)!.intervalS * 1000
const cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})

/** One run of the engine on the incident file in `dir`, started (hydrated from storage's latest readings) at `startAt`. */
function run(dir: string, startAt: number, latest: StoredReading[] = []) {
  let now = startAt
  const store = openIncidentStore(join(dir, 'alerts.sqlite'))
  cleanups.push(() => store.close())
  const changes: IncidentChange[] = []
  const engine = createAlertEngine({ rules: defaultAlertRules, registry, store, clock: () => now, onChange: (c) => changes.push(c) })
  engine.hydrate(latest)
  const silent = () => changes.filter((c) => c.incident.ruleId === 'device-silent').map((c) => `${c.event.type}:${c.event.level}`)
  return {
    store,
    engine,
    changes,
    silent,
    tick: (t: number) => engine.tick((now = t)),
    read: (at: number): StoredReading => {
      now = Math.max(now, at)
      const r: StoredReading = { deviceId: rg, kind: 'rain', ward: registry.get(rg)!.ward, ts: at, tsSource: 'device', receivedAt: at, fields: { rainMm: 0 } }
      engine.onReading(r)
      return r
    },
  }
}

describe('silence after a start is measured from the start', () => {
  it('a device last heard before two hours of downtime is not silent until its grace after the start has passed', () => {
    const dir = makeTempDir('mytho-restart-').path
    const first = run(dir, T0)
    const last = first.read(T0)
    first.store.close()

    const start = T0 + 2 * 60 * min
    const second = run(dir, start, [last])
    second.tick(start)
    second.tick(start + grace - 1_000)
    // Measured from the reading before the downtime this device was silent for two hours at the first tick.
    expect(second.silent()).toEqual([])
    second.tick(start + grace + 1_000)
    expect(second.silent()).toEqual(['raised:1'])
    // What the operator reads: seconds since the device was really last heard.
    expect(second.changes.at(-1)?.event.value).toBe((start + grace + 1_000 - T0) / 1000)
  })

  it('a device already silent before the restart keeps its incident (no clear at start and raise again after the grace)', () => {
    const dir = makeTempDir('mytho-restart-').path
    const first = run(dir, T0)
    const last = first.read(T0)
    first.tick(T0 + grace + min)
    expect(first.silent()).toEqual(['raised:1'])
    first.store.close()

    const start = T0 + 60 * min
    const second = run(dir, start, [last])
    for (let t = start; t <= start + grace + min; t += min) second.tick(t)
    expect(second.silent()).toEqual([])
    expect(second.store.list({ ruleId: 'device-silent', active: true })).toHaveLength(1)
  })
})

describe("a device's planned goodbye is not its Last Will", () => {
  it('offline:planned raises nothing, even long after; a Last Will still raises at once; a reading resumes the silence check', () => {
    const s = run(makeTempDir('mytho-planned-').path, T0)
    s.read(T0)
    s.engine.onConnection(rg, 'offline', T0 + min, { planned: true })
    for (let t = T0 + min; t <= T0 + 4 * grace; t += 5 * min) s.tick(t)
    expect(s.silent()).toEqual([])

    // Back, then gone again without warning.
    s.read(T0 + 4 * grace + min)
    s.tick(T0 + 5 * grace + 2 * min)
    expect(s.silent()).toEqual(['raised:1'])
    s.read(T0 + 5 * grace + 3 * min)
    s.engine.onConnection(rg, 'offline', T0 + 5 * grace + 4 * min)
    expect(s.silent()).toEqual(['raised:1', 'cleared:0', 'raised:1'])
  })

  it('a retained planned goodbye read again at a start is no incident either', () => {
    const dir = makeTempDir('mytho-planned-').path
    const first = run(dir, T0)
    const last = first.read(T0)
    first.engine.onConnection(rg, 'offline', T0 + min, { planned: true })
    first.store.close()

    const start = T0 + 3 * 60 * min
    const second = run(dir, start, [last])
    second.engine.onConnection(rg, 'offline', start, { planned: true, retained: true })
    for (let t = start; t <= start + 3 * grace; t += 5 * min) second.tick(t)
    expect(second.silent()).toEqual([])
    expect(second.store.list({ ruleId: 'device-silent' })).toEqual([])
  })

  it("a Last Will read back at the start (our own broker's stop cut the device off) waits for the grace; one that raised before stands", async () => {
    const dir = makeTempDir('mytho-retained-will-').path
    const first = run(dir, T0)
    const last = first.read(T0)
    first.store.close()

    const start = T0 + 10 * min
    const second = run(dir, start, [last])
    second.engine.onConnection(rg, 'offline', start, { retained: true })
    second.tick(start + grace - 1_000)
    expect(second.silent()).toEqual([])
    // Not back after the grace: silent, as any device would be.
    second.tick(start + grace + 1_000)
    expect(second.silent()).toEqual(['raised:1'])
    second.store.close()

    const third = run(dir, start + grace + 2 * min, [last])
    third.engine.onConnection(rg, 'offline', start + grace + 2 * min, { retained: true })
    third.tick(start + grace + 3 * min)
    expect(third.silent()).toEqual([])
    expect(third.store.list({ ruleId: 'device-silent', active: true }).map((i) => i.state)).toEqual(['open'])
  })
})
