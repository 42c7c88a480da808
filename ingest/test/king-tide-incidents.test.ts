import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createAlertEngine, defaultAlertRules, openIncidentStore } from '@mytho/alerts'
import { buildScenario, initialState, nextReading, type KingTideScenario } from '@mytho/devices-sim'
import { loadRegistryFile, WATER_LEVEL_ALARMS_CM, type IncidentChange, type StoredReading } from '@mytho/schema'
import { makeTempDir } from '@mytho/testing'

/*
 * The king-tide scenario declares which stations reach which alarm level and when; the alert engine,
 * fed the scenario's readings at the gauges' own intervals on the simulated clock (default rules, holds
 * included), must raise exactly those levels: every declared level within its window, nothing undeclared.
 */
describe('king-tide scenario → flood incidents', () => {
  const tmp = makeTempDir('mytho-king-tide-')
  afterAll(() => tmp.cleanup())

  it('raises exactly the levels the scenario declares, inside the declared windows', () => {
    const registry = loadRegistryFile()
    const seed = 1
    const scenario = buildScenario('king-tide', { seed, fleet: registry.devices }) as KingTideScenario
    const start = scenario.startMs!
    let now = start
    const store = openIncidentStore(join(tmp.path, 'alerts.sqlite'))
    const changes: IncidentChange[] = []
    const flood = defaultAlertRules.filter((r) => r.id === 'flood')
    const engine = createAlertEngine({ rules: flood, registry, store, clock: () => now, onChange: (c) => changes.push(c) })

    const gauges = registry.devices.filter((d) => d.kind === 'water_level')
    const states = new Map(gauges.map((g) => [g.id, initialState(seed)]))
    for (let t = start; t <= start + scenario.durationMs!; t += 60_000) {
      now = t
      for (const g of gauges) {
        if ((t - start) % (g.intervalS * 1000) !== 0) continue
        const { reading, state } = nextReading(g, t, states.get(g.id)!)
        states.set(g.id, state)
        const r = scenario.adjust!(g, t, reading)
        if (r.kind !== 'water_level') continue
        const stored: StoredReading = {
          deviceId: g.id,
          kind: g.kind,
          ward: g.ward,
          ts: t,
          tsSource: 'device',
          receivedAt: t,
          fields: { waterLevelCm: r.waterLevelCm },
        }
        engine.onReading(stored)
      }
    }
    store.close()

    const levelOf = (name: string) => WATER_LEVEL_ALARMS_CM.findIndex((s) => s.level === name) + 1
    const hold = (flood[0]!.raiseHoldS + 300) * 1000
    for (const g of gauges) {
      const declared = scenario.expectations.filter((e) => e.deviceId === g.id)
      const mine = changes.filter((c) => c.incident.subject === g.id && (c.event.type === 'raised' || c.event.type === 'escalated'))
      const reached = Math.max(0, ...mine.map((c) => c.event.level))
      expect({ device: g.id, reached }).toEqual({ device: g.id, reached: Math.max(0, ...declared.map((e) => levelOf(e.level))) })
      for (const e of declared) {
        const first = mine.find((c) => c.event.level >= levelOf(e.level))
        expect(first, `${g.id} reaches ${e.level}`).toBeDefined()
        expect(first!.event.at).toBeGreaterThanOrEqual(e.notBefore)
        expect(first!.event.at).toBeLessThanOrEqual(e.by + hold)
      }
    }
    expect(scenario.expectations.length).toBeGreaterThan(5)
  })
})
