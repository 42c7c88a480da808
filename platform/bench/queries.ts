/*
 * The map's two reads at scale (issue #8), against InfluxDB 1.6.7 and SQLite through our storage adapters:
 * "latest of every device" for 5,000 devices, and a day of 1-minute history for one device (8,640 readings, one
 * every 10 s, from local midnight). The map never asks storage for the first: the API keeps every device's latest
 * state in memory (hydrated from storage at start), so the target applies to that; storage's answer is shown as
 * the cost that design avoids.
 *
 *   npx tsx platform/bench/queries.ts
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DeviceRegistry, loadRegistryFile, LOCAL_UTC_OFFSET_MS, type DeviceRecord, type StoredReading } from '@mytho/schema'
import { syntheticFleet } from '@mytho/devices-sim'
import { createApi } from '@mytho/api'
import { createBroker, loadBrokerConfig } from '@mytho/broker'
import { silentLogger } from '@mytho/runtime'
import { createInfluxStore, createSqliteStore, type ReadingStore } from '@mytho/storage'
import { makeTempDir } from '@mytho/testing'

const DEVICES = 5000
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN
}

async function timeIt(times: number, warm: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < warm + times; i++) {
    const t = performance.now()
    await fn()
    if (i >= warm) out.push(performance.now() - t)
  }
  return out
}

export interface QueryRow {
  what: string
  store: string
  p50: number
  p99: number
  /** Target in ms, where the issue sets one for this row. */
  target?: number
}

export async function runQueries(influxUrl: string): Promise<QueryRow[]> {
  const tmp = makeTempDir('mytho-bench-queries-')
  // Water-level gauges only, so one metric covers every device.
  const fleet = syntheticFleet(
    DEVICES,
    1,
    loadRegistryFile().devices.filter((d) => d.kind === 'water_level'),
  )
  const registry = new DeviceRegistry(fleet)
  const now = Date.now()
  // Yesterday's local day: 00:00 UTC+7.
  const dayStart = Math.floor((now + LOCAL_UTC_OFFSET_MS) / 86_400_000) * 86_400_000 - LOCAL_UTC_OFFSET_MS - 86_400_000
  const reading = (d: DeviceRecord, ts: number, v: number): StoredReading => ({
    deviceId: d.id,
    kind: 'water_level',
    ward: d.ward,
    ts,
    tsSource: 'device',
    receivedAt: ts,
    fields: { waterLevelCm: v },
  })
  const latestOfAll = fleet.map((d, i) => reading(d, now - 1000 - i, 100 + (i % 50)))
  const day = Array.from({ length: 8640 }, (_, i) => reading(fleet[0]!, dayStart + i * 10_000, 120 + (i % 50)))
  const history = { deviceIds: [fleet[0]!.id], metric: 'waterLevelCm', from: dayStart, to: dayStart + 86_400_000, window: '1m' as const }
  const db = `queries_${now % 1e9}`
  const stores: [string, ReadingStore][] = [
    ['InfluxDB 1.6.7', createInfluxStore({ url: influxUrl, database: db })],
    ['SQLite', createSqliteStore({ path: join(tmp.path, 'readings.sqlite') })],
  ]
  const rows: QueryRow[] = []
  // The API starts its live feed on a broker: a real one, in process.
  const broker = await createBroker(
    loadBrokerConfig({ DATA_DIR: tmp.path, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_WS_PORT: 'off', MQTT_PERSISTENCE: 'memory' }),
    { logger: silentLogger },
  )
  const { mqttPort } = await broker.start()
  try {
    for (const [name, store] of stores) {
      await store.init()
      await store.writeReadings(day)
      await store.writeReadings(latestOfAll)
      const latest = await timeIt(20, 3, async () => {
        if ((await store.latest()).length !== DEVICES) throw new Error(`${name}: latest() did not answer every device`)
      })
      rows.push({ what: `latest of every device, ${DEVICES.toLocaleString('en')} devices (storage)`, store: name, p50: pct(latest, 50), p99: pct(latest, 99) })
      const hist = await timeIt(30, 5, async () => {
        const [series] = await store.history(history)
        if (series!.points.length !== 1440) throw new Error(`${name}: ${series!.points.length} points for a day of 1-minute windows`)
      })
      rows.push({
        what: 'a day of 1-minute history, one device (1,440 windows of 8,640 readings)',
        store: name,
        p50: pct(hist, 50),
        p99: pct(hist, 99),
        target: 20,
      })
      // What the map is served from: the API's memory, hydrated from this store at start, over HTTP.
      const api = createApi(
        { HTTP_PORT: 0, HTTP_HOST: '127.0.0.1', MQTT_URL: `mqtt://127.0.0.1:${mqttPort}`, DATA_DIR: tmp.path, AUTH_DISABLED: true, API_RATE_LIMIT_PER_MIN: 0 },
        { store, registry, logger: silentLogger },
      )
      const { port } = await api.start()
      try {
        const inMemory = await timeIt(60, 10, async () => {
          if (api.state.all().length !== DEVICES) throw new Error('the API state does not hold every device')
        })
        rows.push({
          what: `latest of every device, ${DEVICES.toLocaleString('en')} devices (API memory, as the map gets it)`,
          store: name,
          p50: pct(inMemory, 50),
          p99: pct(inMemory, 99),
          target: 10,
        })
        const http = await timeIt(40, 5, async () => {
          const res = await fetch(`http://127.0.0.1:${port}/api/v1/devices`)
          if (((await res.json()) as unknown[]).length !== DEVICES) throw new Error('GET /devices did not answer every device')
        })
        rows.push({
          what: `GET /api/v1/devices, ${DEVICES.toLocaleString('en')} devices (HTTP, with the transfer)`,
          store: name,
          p50: pct(http, 50),
          p99: pct(http, 99),
        })
        const httpHist = await timeIt(30, 5, async () => {
          const res = await fetch(
            `http://127.0.0.1:${port}/api/v1/devices/${fleet[0]!.id}/history?metric=waterLevelCm&from=${history.from}&to=${history.to}&window=1m`,
          )
          if (res.status !== 200) throw new Error(`history over HTTP: ${res.status}`)
          await res.arrayBuffer()
        })
        rows.push({ what: 'a day of 1-minute history over HTTP (GET …/history)', store: name, p50: pct(httpHist, 50), p99: pct(httpHist, 99), target: 20 })
      } finally {
        await api.stop()
      }
    }
  } finally {
    for (const [, store] of stores) await store.close().catch(() => undefined)
    await broker.stop()
    await fetch(`${influxUrl}/query?q=${encodeURIComponent(`DROP DATABASE "${db}"`)}`, { method: 'POST' }).catch(() => undefined)
    tmp.cleanup()
  }
  return rows
}

export const queriesTable = (rows: QueryRow[]): string =>
  [
    '| read | storage | p50 ms | p99 ms | target |',
    '|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.what} | ${r.store} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.target === undefined ? '—' : `≤ ${r.target} ms (p50): ${r.p50 <= r.target ? 'met' : 'NOT met'}`} |`,
    ),
  ].join('\n')

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { startInfluxd } = await import('@mytho/testing')
  const influx = await startInfluxd()
  try {
    process.stdout.write(`${queriesTable(await runQueries(influx.url))}\n`)
  } finally {
    await influx.stop()
  }
}
