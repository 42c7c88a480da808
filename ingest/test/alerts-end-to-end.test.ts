import mqtt, { type MqttClient } from 'mqtt'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PLATFORM_INCIDENTS_TOPIC, type IncidentChange } from '@mytho/schema'
import { createSqliteStore, type ReadingStore } from '@mytho/storage'
import { waitFor } from '@mytho/testing'
import { connectDevice, publishReading, startBroker, startIngest } from './pipeline.ts'

/** Alert rules evaluated on the live stream, through a real broker, ingest and storage. */
describe('alerts on the stream', () => {
  let pipeline: Awaited<ReturnType<typeof startBroker>>
  let store: ReadingStore
  let ingest: ReturnType<typeof startIngest>
  let api: MqttClient
  const seen: IncidentChange[] = []

  beforeAll(async () => {
    pipeline = await startBroker()
    store = createSqliteStore({ path: join(pipeline.dataDir, 'readings.sqlite') })
    ingest = startIngest(store, pipeline.mqttUrl, pipeline.dataDir, { ALERT_TICK_MS: '100' })
    await ingest.start()
    api = await mqtt.connectAsync(pipeline.mqttUrl, {
      clientId: 'mytho-api-listener',
      username: 'svc-api',
      password: pipeline.secrets.services['svc-api']!,
      reconnectPeriod: 0,
    })
    api.on('message', (_t, p) => seen.push(JSON.parse(p.toString()) as IncidentChange))
    await api.subscribeAsync(PLATFORM_INCIDENTS_TOPIC)
  })
  afterAll(async () => {
    await api?.endAsync()
    await ingest?.stop()
    await store?.close()
    await pipeline?.cleanup()
  })

  it('a river gauge above BĐ III for the raise hold raises one critical flood incident', async () => {
    const id = 'wl-tourist-wharf'
    const device = await connectDevice(pipeline.mqttUrl, id, pipeline.secrets.devices[id]!)
    const t = Date.now()
    // Device timestamps 6 and 0.5 minutes ago: the 5-minute raise hold is met by the second reading.
    await publishReading(device, id, [
      { kind: 'water_level', ts: t - 6 * 60_000, waterLevelCm: 162 },
      { kind: 'water_level', ts: t - 30_000, waterLevelCm: 164 },
    ])
    const change = await waitFor(() => seen.find((c) => c.incident.ruleId === 'flood' && c.incident.subject === id), { what: 'the flood incident' })
    expect(change.event).toMatchObject({ type: 'raised', level: 3, value: 164 })
    expect(change.incident).toMatchObject({ severity: 'critical', state: 'open', title: { vi: 'Ngập do triều cường / lũ: Báo động III' } })
    expect(ingest.incidents!.list({ active: true, deviceId: id })).toHaveLength(1)
    await device.endAsync()
  })

  it("a device's Last Will raises a silent-device incident; its next reading clears it", async () => {
    const id = 'rg-thoi-son'
    const device = await connectDevice(pipeline.mqttUrl, id, pipeline.secrets.devices[id]!)
    await publishReading(device, id, { kind: 'rain', ts: Date.now() - 1000, rainMm: 0 })
    await waitFor(async () => (await store.latest([id])).length === 1, { what: 'first reading' })
    ;(device as unknown as { stream: { destroy(): void } }).stream.destroy()
    const raised = await waitFor(() => seen.find((c) => c.incident.ruleId === 'device-silent' && c.incident.subject === id), { what: 'the silent incident' })
    expect(raised.incident.title.en).toBe('Device silent: Disconnected (the device reported it went offline)')
    device.end(true)

    const again = await connectDevice(pipeline.mqttUrl, id, pipeline.secrets.devices[id]!)
    await publishReading(again, id, { kind: 'rain', ts: Date.now(), rainMm: 0.2 })
    await waitFor(() => seen.find((c) => c.incident.subject === id && c.event.type === 'cleared'), { what: 'the clear' })
    expect(ingest.incidents!.get(raised.incident.id)).toMatchObject({ state: 'cleared', level: 0 })
    await again.endAsync()
  })

  const incidentOf = (ruleId: string, subject: string) =>
    waitFor(() => seen.find((c) => c.incident.ruleId === ruleId && c.incident.subject === subject && c.event.type === 'raised'), {
      what: `${ruleId} on ${subject}`,
    })

  it('congestion: slow counters on QL1 for the raise hold make one incident for the road', async () => {
    const a = 'tc-ql1-trung-an'
    const b = 'tc-ql1-kp2-p10'
    const t = Date.now()
    // slow, not jammed (a jam, below 10 km/h, is the rule's critical level)
    const slow = (ts: number) => ({ kind: 'traffic', ts, intervalS: 60, vehicleCount: 12, avgSpeedKmh: 12, occupancyPct: 50 })
    const da = await connectDevice(pipeline.mqttUrl, a, pipeline.secrets.devices[a]!)
    const db = await connectDevice(pipeline.mqttUrl, b, pipeline.secrets.devices[b]!)
    await publishReading(da, a, [slow(t - 7 * 60_000), slow(t - 60_000)])
    await publishReading(db, b, [slow(t - 6 * 60_000), slow(t - 30_000)])
    const change = await incidentOf('congestion', 'QL1')
    expect(change.incident).toMatchObject({ subjectType: 'road', severity: 'warning', title: { vi: 'Ùn tắc giao thông: Ùn tắc' } })
    await waitFor(() => ingest.incidents!.get(change.incident.id)!.deviceIds.length === 2, { what: 'both counters on the incident' })
    expect(seen.filter((c) => c.incident.ruleId === 'congestion' && c.event.type === 'raised')).toHaveLength(1)
    await da.endAsync()
    await db.endAsync()
  })

  it("low battery and salinity above the agencies' thresholds, from one probe", async () => {
    const id = 'sal-thu-khoa-huan'
    const d = await connectDevice(pipeline.mqttUrl, id, pipeline.secrets.devices[id]!)
    const t = Date.now()
    await publishReading(d, id, [
      { kind: 'salinity', ts: t - 40 * 60_000, salinityGL: 1.3, batteryV: 11.6 },
      { kind: 'salinity', ts: t - 25 * 60_000, salinityGL: 1.4, batteryV: 11.6 },
      { kind: 'salinity', ts: t - 5 * 60_000, salinityGL: 1.4, batteryV: 11.5 },
    ])
    expect((await incidentOf('salinity', id)).incident).toMatchObject({ level: 2, title: { en: 'Salinity intrusion: Fruit-tree irrigation warning' } })
    expect((await incidentOf('low-battery', id)).incident).toMatchObject({ level: 1, severity: 'info' })
    await d.endAsync()
  })

  it('PM2.5 over the 24-hour limit once a day of history is in (backfill), not on one busy minute', async () => {
    const id = 'aq-dh-tien-giang'
    const d = await connectDevice(pipeline.mqttUrl, id, pipeline.secrets.devices[id]!)
    const t = Date.now()
    const day = Array.from({ length: 23 }, (_, i) => ({ kind: 'air_quality', ts: t - (23 - i) * 3_600_000 + 60_000, pm25UgM3: 68 }))
    await publishReading(d, id, day)
    await publishReading(d, id, { kind: 'air_quality', ts: t - 1000, pm25UgM3: 70 })
    expect((await incidentOf('pm25', id)).incident).toMatchObject({ severity: 'warning', title: { vi: 'Bụi mịn PM2.5 vượt QCVN 05: Vượt trung bình 24 giờ' } })
    await d.endAsync()
  })
})
