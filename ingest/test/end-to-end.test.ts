import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import mqtt from 'mqtt'
import { PLATFORM_READINGS_TOPIC, readingsTopic, type StoredReading } from '@mytho/schema'
import { createInfluxStore, type ReadingStore } from '@mytho/storage'
import { startInfluxd, waitFor } from '@mytho/testing'
import { connectDevice, publishReading, startBroker, startIngest } from './pipeline.ts'

const run = promisify(execFile)

/** Asks InfluxDB itself (InfluxQL over HTTP), not our adapter, what it holds. */
async function influxRows(url: string, db: string, q: string): Promise<unknown[][]> {
  const res = await fetch(`${url}/query?db=${db}&epoch=ms&q=${encodeURIComponent(q)}`)
  const body = (await res.json()) as { results: { series?: { values: unknown[][] }[] }[] }
  return body.results[0]?.series?.[0]?.values ?? []
}

describe('device → broker → ingest → InfluxDB', () => {
  let influx: Awaited<ReturnType<typeof startInfluxd>>
  let pipeline: Awaited<ReturnType<typeof startBroker>>
  let store: ReadingStore
  let ingest: ReturnType<typeof startIngest>

  beforeAll(async () => {
    influx = await startInfluxd()
    pipeline = await startBroker()
    store = createInfluxStore({ url: influx.url, database: 'mytho_e2e' })
    ingest = startIngest(store, pipeline.mqttUrl, pipeline.dataDir)
    await ingest.start()
  })
  afterAll(async () => {
    await ingest?.stop()
    await store?.close()
    await pipeline?.cleanup()
    await influx?.stop()
  })

  it('stores a reading an MQTT.js device publishes with its own credentials', async () => {
    const id = 'wl-hydro-station'
    const device = await connectDevice(pipeline.mqttUrl, id, pipeline.secrets.devices[id]!)
    const ts = Date.now() - 1000
    await publishReading(device, id, { kind: 'water_level', ts, seq: 1, waterLevelCm: 161.5, batteryV: 12.8 })
    const rows = await waitFor(
      async () => (await influxRows(influx.url, 'mytho_e2e', `SELECT "waterLevelCm","ward" FROM "water_level" WHERE "deviceId"='${id}'`)).at(0),
      {
        what: 'the point in InfluxDB',
      },
    )
    expect(rows).toEqual([ts, 161.5, 'my-tho'])
    await device.endAsync()
  })

  it('stores a reading published by mosquitto_pub (interoperability)', async () => {
    const id = 'sal-lac-hong'
    const ts = Date.now() - 500
    await run('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(pipeline.port),
      '-i',
      id,
      '-u',
      id,
      '-P',
      pipeline.secrets.devices[id]!,
      '-q',
      '1',
      '-t',
      readingsTopic(id),
      '-m',
      JSON.stringify({ kind: 'salinity', ts, salinityGL: 0.64 }),
    ])
    const rows = await waitFor(async () => (await influxRows(influx.url, 'mytho_e2e', `SELECT "salinityGL" FROM "salinity" WHERE "deviceId"='${id}'`)).at(0), {
      what: 'the mosquitto_pub point in InfluxDB',
    })
    expect(rows).toEqual([ts, 0.64])
  })

  it('stores a reading without ts at the broker receive time, once', async () => {
    const id = 'rg-trung-an'
    const device = await connectDevice(pipeline.mqttUrl, id, pipeline.secrets.devices[id]!)
    const before = Date.now()
    await publishReading(device, id, { kind: 'rain', rainMm: 3.5 })
    const [latest] = await waitFor(async () => {
      const l = await store.latest([id])
      return l.length ? l : undefined
    })
    expect(latest!.tsSource).toBe('broker')
    expect(latest!.ts).toBeGreaterThanOrEqual(before)
    await device.endAsync()
  })

  it('announces what it stored to the API service account, after the write', async () => {
    const api = await mqtt.connectAsync(pipeline.mqttUrl, {
      clientId: 'mytho-api-listener',
      username: 'svc-api',
      password: pipeline.secrets.services['svc-api']!,
      reconnectPeriod: 0,
    })
    const seen: StoredReading[] = []
    api.on('message', (_t, payload) => seen.push(...(JSON.parse(payload.toString()) as StoredReading[])))
    await api.subscribeAsync(PLATFORM_READINGS_TOPIC, { qos: 0 })
    const id = 'tc-cau-quay'
    const device = await connectDevice(pipeline.mqttUrl, id, pipeline.secrets.devices[id]!)
    const ts = Date.now() - 100
    await publishReading(device, id, { kind: 'traffic', ts, intervalS: 60, vehicleCount: 31, avgSpeedKmh: 24, occupancyPct: 18 })
    const announced = await waitFor(() => seen.find((r) => r.deviceId === id), { what: 'the announced reading' })
    expect(announced).toMatchObject({ ts, ward: 'my-tho', fields: { vehicleCount: 31 } })
    expect((await store.latest([id]))[0]?.ts).toBe(ts)
    await device.endAsync()
    await api.endAsync()
  })
})
