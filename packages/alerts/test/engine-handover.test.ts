import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadRegistryFile, type IncidentChange, type StoredReading } from '@mytho/schema'
import { makeTempDir } from '@mytho/testing'
import { createAlertEngine, defaultAlertRules, openIncidentStore } from '../src/index.ts'

/*
 * A device handed between two ingest workers (ingest partitions) on one incident store: the engine handing it over
 * saves its holds, the one taking it forgets what it had cached, so a raise hold in progress moves with the device.
 */
const registry = loadRegistryFile()
const T0 = Date.UTC(2026, 9, 8, 22, 0, 0)
const min = 60_000
const gauge = 'wl-hydro-station'
const cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})

function worker(path: string) {
  let now = T0
  const store = openIncidentStore(path)
  cleanups.push(() => store.close())
  const changes: IncidentChange[] = []
  const engine = createAlertEngine({ rules: defaultAlertRules, registry, store, clock: () => now, onChange: (c) => changes.push(c) })
  const read = (at: number, cm: number) => {
    now = at
    const d = registry.get(gauge)!
    const r: StoredReading = { deviceId: gauge, kind: d.kind, ward: d.ward, ts: at, tsSource: 'device', receivedAt: at, fields: { waterLevelCm: cm } }
    engine.onReading(r)
  }
  return { engine, changes, read }
}

describe('alert state moving with a device between ingest workers', () => {
  it('a raise hold begun on one worker completes on the next one', () => {
    const path = join(makeTempDir('mytho-alerts-handover-').path, 'alerts.sqlite')
    const a = worker(path)
    const b = worker(path)
    b.read(T0 - 10 * min, 120) // b owned the gauge once: its hold (level 0) is cached
    b.engine.forgetDevices(new Set([gauge]), { save: true })
    a.engine.forgetDevices(new Set([gauge]))
    a.read(T0, 162)
    a.read(T0 + 2 * min, 162) // BĐ III pending, 5 min raise hold
    a.engine.forgetDevices(new Set([gauge]), { save: true })
    b.engine.forgetDevices(new Set([gauge]))
    b.read(T0 + 5 * min, 163)
    expect(a.changes).toEqual([])
    expect(b.changes.map((c) => `${c.event.type}:${c.event.level}`)).toEqual(['raised:3'])
    expect(b.changes[0]!.incident.raisedAt).toBe(T0 + 5 * min)
  })

  it('without forgetting, the next worker judges on the hold it had cached (why the ingest calls it)', () => {
    const path = join(makeTempDir('mytho-alerts-handover-').path, 'alerts.sqlite')
    const a = worker(path)
    const b = worker(path)
    b.read(T0 - 10 * min, 120)
    a.read(T0, 162)
    a.read(T0 + 2 * min, 162)
    a.engine.forgetDevices(new Set([gauge]), { save: true })
    b.read(T0 + 5 * min, 163)
    expect(b.changes).toEqual([])
  })
})
