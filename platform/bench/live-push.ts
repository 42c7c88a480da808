/*
 * Live push benchmark: publish on mytho/v1/platform/readings (what ingest announces after a durable write)
 * → API live feed → in-memory state → Socket.IO → 20 map clients, at 1,000 and 5,000 readings/s over 5,000
 * devices; then GET /devices for 5,000 devices from memory, and a day of 1-minute history for one device.
 *
 *   npx tsx platform/bench/live-push.ts            (BENCH_SECONDS=10 per rate, BENCH_CLIENTS=20, LIVE_FLUSH_MS=10)
 *
 * The clients run in a worker thread so their JSON parsing does not sit on the server's event loop (a browser
 * is another machine); latencies are wall-clock (timeOrigin + now) so both threads share one time base.
 * Not part of the test suite: numbers, not assertions.
 */
import { join } from 'node:path'
import { answerBenchControl } from './client-control.ts'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import mqtt from 'mqtt'
import { io } from 'socket.io-client'
import {
  CITY_BOUNDS,
  DeviceRegistry,
  PLATFORM_READINGS_TOPIC,
  wards,
  type ClientToServerEvents,
  type DeviceRecord,
  type LiveDeviceState,
  type ServerToClientEvents,
  type StoredReading,
} from '@mytho/schema'
import { createApi } from '@mytho/api'
import { createBroker, loadBrokerConfig } from '@mytho/broker'
import { readDemoSecrets, silentLogger } from '@mytho/runtime'
import { createSqliteStore } from '@mytho/storage'
import { makeTempDir } from '@mytho/testing'
import type { Socket } from 'socket.io-client'

const DEVICES = 5000
const wall = () => performance.timeOrigin + performance.now()

interface ClientReport {
  latencies: number[]
  entries: number
  events: number
}

if (!isMainThread) {
  // Worker: the map clients. Each update entry carries its send time in `seq` (µs since the run start).
  const { url, clients, runStart } = workerData as { url: string; clients: number; runStart: number }
  const reports: ClientReport[] = Array.from({ length: clients }, () => ({ latencies: [], entries: 0, events: 0 }))
  let measuring = false
  const sockets: Socket<ServerToClientEvents, ClientToServerEvents>[] = []
  let ready = 0
  for (let i = 0; i < clients; i++) {
    const s: Socket<ServerToClientEvents, ClientToServerEvents> = io(url, { path: '/socket.io', transports: ['websocket'] })
    sockets.push(s)
    s.on('updates', (devices: LiveDeviceState[]) => {
      const r = reports[i]!
      const now = wall()
      r.events++
      r.entries += devices.length
      if (!measuring) return
      for (const d of devices) if (d.lastReading?.seq !== undefined) r.latencies.push(now - (runStart + d.lastReading.seq / 1000))
    })
    s.on('connect', () =>
      s.emit('view', { bbox: [CITY_BOUNDS.west, CITY_BOUNDS.south, CITY_BOUNDS.east, CITY_BOUNDS.north], zoom: 13 }, () => {
        if (++ready === clients) parentPort!.postMessage({ type: 'ready' })
      }),
    )
  }
  answerBenchControl(
    reports,
    (r) => ((r.latencies = []), (r.entries = 0), (r.events = 0)),
    sockets,
    (on) => (measuring = on),
  )
}

function syntheticFleet(n: number): DeviceRecord[] {
  const latSpan = CITY_BOUNDS.north - CITY_BOUNDS.south
  const lonSpan = CITY_BOUNDS.east - CITY_BOUNDS.west
  return Array.from({ length: n }, (_, i) => ({
    id: `wl-bench-${String(i).padStart(5, '0')}`,
    kind: 'water_level' as const,
    nameVi: `Trạm đo thử ${i}`,
    nameEn: `Bench gauge ${i}`,
    lat: CITY_BOUNDS.south + (((i * 7919) % 1000) / 1000) * latSpan,
    lon: CITY_BOUNDS.west + (((i * 104_729) % 1000) / 1000) * lonSpan,
    ward: wards[i % wards.length]!,
    intervalS: 60,
    batteryPowered: false,
    waterBody: 'river' as const,
    locationConfidence: 'C' as const,
  }))
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN
const fmt = (x: number) => x.toFixed(1)

async function main() {
  const seconds = Number(process.env['BENCH_SECONDS'] ?? 10)
  const clients = Number(process.env['BENCH_CLIENTS'] ?? 20)
  const tmp = makeTempDir('mytho-bench-live-')
  const registry = new DeviceRegistry(syntheticFleet(DEVICES))
  const broker = await createBroker(loadBrokerConfig({ DATA_DIR: tmp.path, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_WS_PORT: 'off' }), {
    logger: silentLogger,
  })
  const { mqttPort } = await broker.start()
  const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`
  const store = createSqliteStore({ path: join(tmp.path, 'readings.sqlite') })
  const flushMs = Number(process.env['LIVE_FLUSH_MS'] ?? 10)
  const api = createApi(
    { HTTP_PORT: 0, HTTP_HOST: '127.0.0.1', MQTT_URL: mqttUrl, DATA_DIR: tmp.path, LIVE_FLUSH_MS: flushMs },
    { store, registry, logger: silentLogger },
  )
  const { port } = await api.start()
  const url = `http://127.0.0.1:${port}`
  // Publishes as ingest does: JSON arrays of stored readings on the platform topic, QoS 0.
  const publisher = await mqtt.connectAsync(mqttUrl, {
    clientId: 'mytho-ingest-bench-pub',
    username: 'svc-ingest',
    password: readDemoSecrets(tmp.path)!.services['svc-ingest']!,
    clean: true,
  })

  // Ingest's own MQTT session disables Nagle's algorithm; without it small publishes wait for delayed ACKs (~40 ms).
  ;(publisher.stream as unknown as { setNoDelay(v: boolean): void }).setNoDelay(true)
  const runStart = wall()
  const worker = new Worker(new URL('./ts-worker.mjs', import.meta.url), { workerData: { entry: import.meta.url, url, clients, runStart } })
  const fromWorker = <T>(type: string) =>
    new Promise<T>((resolve) =>
      worker.on('message', function h(m: { type: string }) {
        if (m.type === type) {
          worker.off('message', h)
          resolve(m as T)
        }
      }),
    )
  await fromWorker('ready')

  let next = 0
  const run = async (rate: number) => {
    const tickMs = 10
    let sent = 0
    const started = wall()
    const measureFrom = started + 1000
    let measuring = false
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const now = wall()
        if (!measuring && now >= measureFrom) {
          measuring = true
          worker.postMessage({ type: 'measure' })
        }
        const due = Math.floor(((now - started) / 1000) * rate) - sent
        if (due > 0) {
          const batch: StoredReading[] = []
          for (let i = 0; i < due; i++) {
            const d = registry.devices[next++ % DEVICES]!
            batch.push({
              deviceId: d.id,
              kind: 'water_level',
              ward: d.ward,
              ts: Math.round(now) + i,
              tsSource: 'device',
              receivedAt: Math.round(now),
              seq: Math.round((now - runStart) * 1000),
              fields: { waterLevelCm: 100 + (next % 60) },
            })
          }
          publisher.publish(PLATFORM_READINGS_TOPIC, JSON.stringify(batch), { qos: 0 })
          sent += due
        }
        if (now - started >= (seconds + 1) * 1000) {
          clearInterval(timer)
          resolve()
        }
      }, tickMs)
    })
    // Let the last batch drain before reading the clients' numbers.
    await new Promise((r) => setTimeout(r, 500))
    worker.postMessage({ type: 'report' })
    const { reports } = await fromWorker<{ reports: ClientReport[] }>('report')
    const all = reports.flatMap((r) => r.latencies).sort((a, b) => a - b)
    const events = reports.reduce((n, r) => n + r.events, 0)
    const entries = reports.reduce((n, r) => n + r.entries, 0)
    return { rate, all, eventsPerClientS: events / clients / seconds, entriesPerS: entries / seconds }
  }

  const rows: string[] = []
  for (const rate of [1000, 5000]) {
    const cpu0 = process.cpuUsage()
    const r = await run(rate)
    const cpu = process.cpuUsage(cpu0)
    const cpuPct = ((cpu.user + cpu.system) / 1000 / ((seconds + 1.5) * 1000)) * 100
    rows.push(
      `| ${rate.toLocaleString('en')} readings/s, ${clients} clients | ${fmt(pct(r.all, 50))} | ${fmt(pct(r.all, 95))} | ${fmt(pct(r.all, 99))} | ${fmt(r.all.at(-1) ?? NaN)} | ${r.eventsPerClientS.toFixed(1)} | ${Math.round(r.entriesPerS).toLocaleString('en')} | ${cpuPct.toFixed(0)} % |`,
    )
  }

  // GET /devices for 5,000 devices, all with a reading by now.
  const httpMs: number[] = []
  for (let i = 0; i < 60; i++) {
    const t = performance.now()
    const res = await fetch(`${url}/api/v1/devices`)
    const body = await res.text()
    if (i >= 10) httpMs.push(performance.now() - t)
    if (i === 0 && (JSON.parse(body) as unknown[]).length !== DEVICES) throw new Error('GET /devices did not answer every device')
  }
  httpMs.sort((a, b) => a - b)
  const inProc: number[] = []
  for (let i = 0; i < 60; i++) {
    const t = performance.now()
    api.state.refresh()
    api.state.viewsJson()
    if (i >= 10) inProc.push(performance.now() - t)
  }
  inProc.sort((a, b) => a - b)
  // The same with every device changed since the last call (a busy city between two requests).
  const busy: number[] = []
  for (let i = 0; i < 30; i++) {
    const now = Date.now()
    api.state.applyReadings(
      registry.devices.map((d, k) => ({
        deviceId: d.id,
        kind: 'water_level' as const,
        ward: d.ward,
        ts: now + i,
        tsSource: 'device' as const,
        receivedAt: now,
        fields: { waterLevelCm: 100 + (k % 50) },
      })),
    )
    const t = performance.now()
    api.state.refresh()
    api.state.viewsJson()
    if (i >= 5) busy.push(performance.now() - t)
  }
  busy.sort((a, b) => a - b)
  const latestAll: number[] = []
  for (let i = 0; i < 60; i++) {
    const t = performance.now()
    api.state.all()
    if (i >= 10) latestAll.push(performance.now() - t)
  }
  latestAll.sort((a, b) => a - b)

  // A day of 1-minute history for one device (8,640 readings, one per 10 s) from SQLite.
  const dayStart = Date.UTC(2026, 10, 24, 17) // local midnight, UTC+7
  const id = registry.devices[0]!.id
  await store.writeReadings(
    Array.from({ length: 8640 }, (_, i) => ({
      deviceId: id,
      kind: 'water_level' as const,
      ward: registry.devices[0]!.ward,
      ts: dayStart + i * 10_000,
      tsSource: 'device' as const,
      receivedAt: dayStart + i * 10_000,
      fields: { waterLevelCm: 120 + (i % 50) },
    })),
  )
  const histMs: number[] = []
  let points = 0
  for (let i = 0; i < 30; i++) {
    const t = performance.now()
    const res = await fetch(`${url}/api/v1/devices/${id}/history?metric=waterLevelCm&from=${dayStart}&to=${dayStart + 86_400_000}&window=1m`)
    points = ((await res.json()) as { points: unknown[] }).points.length
    if (i >= 5) histMs.push(performance.now() - t)
  }
  histMs.sort((a, b) => a - b)

  worker.postMessage({ type: 'close' })
  await publisher.endAsync()
  await api.stop()
  await store.close()
  await broker.stop()
  tmp.cleanup()

  process.stdout.write(
    [
      `Live push, ${DEVICES.toLocaleString('en')} devices, flush ${flushMs} ms (LIVE_FLUSH_MS), ${seconds} s per rate after 1 s warm-up, Node ${process.version}`,
      '',
      '| load | p50 ms | p95 ms | p99 ms | max ms | updates events/client/s | entries delivered/s (all clients) | API process CPU |',
      '|---|---|---|---|---|---|---|---|',
      ...rows,
      '',
      '| query | p50 ms | p99 ms |',
      '|---|---|---|',
      `| GET /api/v1/devices, ${DEVICES.toLocaleString('en')} devices (HTTP, incl. transfer) | ${fmt(pct(httpMs, 50))} | ${fmt(pct(httpMs, 99))} |`,
      `| latest state of ${DEVICES.toLocaleString('en')} devices from memory (state.all, in process) | ${fmt(pct(latestAll, 50))} | ${fmt(pct(latestAll, 99))} |`,
      `| GET /devices body: status re-check + JSON of ${DEVICES.toLocaleString('en')} devices, none changed since last (in process) | ${fmt(pct(inProc, 50))} | ${fmt(pct(inProc, 99))} |`,
      `| the same, all ${DEVICES.toLocaleString('en')} changed since last (in process) | ${fmt(pct(busy, 50))} | ${fmt(pct(busy, 99))} |`,
      `| a day of 1-minute history, one device (${points} points from 8,640 readings, SQLite) | ${fmt(pct(histMs, 50))} | ${fmt(pct(histMs, 99))} |`,
      '',
    ].join('\n'),
  )
}

if (isMainThread) await main()
