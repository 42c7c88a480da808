import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import type { AlarmLinesResponse, DeviceView, Incident, StoredReading } from '@mytho/schema'
import { makeTempDir, waitFor } from '@mytho/testing'
import { startSqliteApi, type SqliteApi } from './sqlite-api.ts'
import { startLivePlatform } from './live-harness.ts'

/*
 * Issue #17 findings 2 and 3: the map's marker is judged by the alert engine's rules (built-in or ALERT_RULES_FILE),
 * so a jammed road is not green and a city's own threshold moves marker and incident together.
 */

const now = Date.UTC(2026, 10, 25, 10, 30, 0)
const traffic = (deviceId: string, ward: StoredReading['ward'], fields: Record<string, number>): StoredReading => ({
  deviceId,
  kind: 'traffic',
  ward,
  ts: now - 1000,
  tsSource: 'device',
  receivedAt: now - 1000,
  fields: { vehicleCount: 40, intervalS: 60, ...fields },
})

describe('a jammed road on the map (finding 2)', () => {
  let p: SqliteApi
  beforeAll(async () => {
    p = await startSqliteApi('mytho-api-judge-', async (s) => {
      // The rush-hour peak of the issue: Rạch Miễu span 1 at 12.2 km/h, Trung Lương at 14.8 km/h and 60 % occupancy.
      await s.writeReadings([
        traffic('tc-rach-mieu-span1', 'thoi-son', { avgSpeedKmh: 12.2, occupancyPct: 30 }),
        traffic('tc-ql1-trung-luong', 'trung-an', { avgSpeedKmh: 14.8, occupancyPct: 60 }),
        traffic('tc-ql60-trung-an', 'trung-an', { avgSpeedKmh: 24, occupancyPct: 57.8 }),
        traffic('tc-ql50-dao-thanh', 'dao-thanh', { avgSpeedKmh: 45, occupancyPct: 12, batteryV: 11.0 }),
      ])
      return { clock: () => now }
    })
  })
  afterAll(async () => {
    await p?.stop()
  })

  it('shows slow traffic as warning and a jam as alarm, free flow (even on a weak battery) as ok', async () => {
    const { status, body } = await p.get<DeviceView[]>('/devices')
    expect(status).toBe(200)
    const statusOf = (id: string) => body.find((d) => d.id === id)?.status
    expect({
      'tc-rach-mieu-span1': statusOf('tc-rach-mieu-span1'),
      'tc-ql1-trung-luong': statusOf('tc-ql1-trung-luong'),
      'tc-ql60-trung-an': statusOf('tc-ql60-trung-an'),
      'tc-ql50-dao-thanh': statusOf('tc-ql50-dao-thanh'),
    }).toEqual({ 'tc-rach-mieu-span1': 'warning', 'tc-ql1-trung-luong': 'alarm', 'tc-ql60-trung-an': 'warning', 'tc-ql50-dao-thanh': 'ok' })
  })
})

describe("a city's own flood thresholds in ALERT_RULES_FILE (finding 3)", () => {
  it('marker and incident judge the same raised level, and the incident says where and what to do', async () => {
    const dir = makeTempDir('mytho-api-rules-')
    onTestFinished(() => dir.cleanup())
    // The example file (the built-in rules) with the flood levels lowered, as a city with its own station levels would.
    const example = JSON.parse(readFileSync(new URL('../../config/alert-rules.example.json', import.meta.url), 'utf8')) as {
      rules: { id: string; levels?: { set: number; clear: number; action?: { vi: string; en: string } }[] }[]
    }
    const flood = example.rules.find((r) => r.id === 'flood')!
    flood.levels!.forEach((l, i) => {
      l.set = 100 + 10 * i
      l.clear = l.set - 5
    })
    flood.levels![2]!.action = { vi: 'Mở trạm bơm Hùng Vương', en: 'Start the Hùng Vương pumping station' }
    const rulesFile = join(dir.path, 'alert-rules.json')
    writeFileSync(rulesFile, JSON.stringify(example))

    const p = await startLivePlatform({ ALERT_RULES_FILE: rulesFile })
    onTestFinished(() => p.stop())
    const id = 'wl-my-phong-riverside'
    const dev = await p.device(id)
    const t = Date.now()
    // 125 cm: above the city's BĐ III (120), below the built-in BĐ I (140); held past the rule's 5-minute raise hold.
    await p.publish(dev, id, [
      { kind: 'water_level', ts: t - 6 * 60_000, waterLevelCm: 125 },
      { kind: 'water_level', ts: t - 1000, waterLevelCm: 125 },
    ])
    const incident = await waitFor(
      async () => ((await (await fetch(`${p.url}/api/v1/incidents?deviceId=${id}`)).json()) as Incident[]).find((i) => i.ruleId === 'flood' && i.level === 3),
      { what: 'the flood incident at the city’s BĐ III' },
    )
    const marker = await waitFor(
      async () => {
        const d = (await (await fetch(`${p.url}/api/v1/devices/${id}`)).json()) as DeviceView
        return d.lastReading?.ts === t - 1000 ? d : undefined
      },
      { what: 'the gauge’s latest reading on the map' },
    )
    expect({ marker: marker.status, incident: incident.severity }).toEqual({ marker: 'alarm', incident: 'critical' })
    expect(incident).toMatchObject({ ward: 'my-phong', action: { vi: 'Mở trạm bơm Hùng Vương', en: 'Start the Hùng Vương pumping station' } })
    // The chart draws the same lines: the city's 100 / 110 / 120 cm, not the built-in 140 / 150 / 160.
    const lines = (await (await fetch(`${p.url}/api/v1/devices/${id}/alarm-lines`)).json()) as AlarmLinesResponse
    expect(lines.lines.filter((l) => l.metric === 'waterLevelCm').map((l) => [l.value, l.severity, l.name.vi])).toEqual([
      [100, 'warning', 'Báo động I'],
      [110, 'warning', 'Báo động II'],
      [120, 'critical', 'Báo động III'],
    ])
    expect((await fetch(`${p.url}/api/v1/devices/no-such-gauge/alarm-lines`)).status).toBe(404)
  })
})
