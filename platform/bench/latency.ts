/*
 * Publish → Socket.IO client latency, end to end (issue #8): 50 seed devices (MQTT.js, QoS 1, their own credentials)
 * → broker → ingest → InfluxDB → the ingest's announcement of what is stored → API (its own process) → 20 signed-in
 * Socket.IO clients viewing the whole city, at fixed rates. A reading carries its send time (µs since the run's
 * start) in `seq`, which storage keeps and the API pushes back in the device's lastReading; a client's latency is
 * its wall clock at the `updates` event minus that. The clients run in a worker thread so their JSON parsing does
 * not share an event loop with the devices (a browser is another machine); both threads use one time base.
 * The devices: the simulator's synthetic fleet (seed-fleet kinds in their proportions), 500 (LAT_DEVICES), each its own MQTT
 * connection with its own credentials, so 5,000/s is 10 readings/s per device. (With 50 devices at 100/s each, a
 * device's next reading would wait behind its previous one in the embedded mode, where a connection reads on only
 * once the reading before is stored: a queue no real device, reporting every minute or so, ever builds.)
 * Readings a flush coalesced (a newer one of the same device in the same 10 ms) are not counted: the map shows the
 * newest.
 *
 *   npx tsx platform/bench/latency.ts                 (LAT_SECONDS=10 per rate, LAT_CLIENTS=20, LAT_MODE=separate|embedded,
 *                                                      LAT_NODE_FLAGS, LAT_API_FLAGS: default docker-compose.yml's)
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import mqtt, { type MqttClient } from 'mqtt'
import { io, type Socket } from 'socket.io-client'
import { CITY_BOUNDS, readingsTopic, type ClientToServerEvents, type LiveDeviceState, type ServerToClientEvents } from '@mytho/schema'
import { syntheticFleet } from '@mytho/devices-sim'
import { readDemoSecrets } from '@mytho/runtime'
import { freePort, makeTempDir, procDelta, procStats, type ProcStats } from '@mytho/testing'
import { nodeFlagsFor } from './deployed-flags.ts'
import { answerBenchControl, timeLoopDelay, type LoopDelay } from './client-control.ts'
import { startChild, stopChild } from './reference.ts'

const wall = () => performance.timeOrigin + performance.now()
const ADMIN_PASSWORD = 'Bến-Tre-cầu-Rạch-Miễu-1883'
const cityView = { bbox: [CITY_BOUNDS.west, CITY_BOUNDS.south, CITY_BOUNDS.east, CITY_BOUNDS.north] as [number, number, number, number], zoom: 13 }

interface ClientReport {
  latencies: number[]
  entries: number
}

if (!isMainThread && (workerData as { role?: string }).role === 'latency-clients') {
  const { url, cookies, runStart } = workerData as { url: string; cookies: string[]; runStart: number }
  const reports: ClientReport[] = cookies.map(() => ({ latencies: [], entries: 0 }))
  let measuring = false
  let ready = 0
  const sockets = cookies.map((cookie, i) => {
    const s: Socket<ServerToClientEvents, ClientToServerEvents> = io(url, {
      path: '/socket.io',
      transports: ['websocket'],
      extraHeaders: { cookie },
      auth: { view: cityView },
    })
    s.on('updates', (devices: LiveDeviceState[]) => {
      const now = wall()
      const r = reports[i]!
      r.entries += devices.length
      if (!measuring) return
      for (const d of devices) if (d.lastReading?.seq !== undefined) r.latencies.push(now - (runStart + d.lastReading.seq / 1000))
    })
    s.once('connect', () => {
      if (++ready === cookies.length) parentPort!.postMessage({ type: 'ready' })
    })
    s.on('connect_error', (err) => parentPort!.postMessage({ type: 'error', message: err.message }))
    return s
  })
  answerBenchControl(
    reports,
    (r) => ((r.latencies = []), (r.entries = 0)),
    sockets,
    (on) => (measuring = on),
  )
}

export interface LatencyRow {
  rate: number
  p50: number
  p95: number
  p99: number
  max: number
  samples: number
  /** Readings published and acknowledged in the measured window. */
  measured: number
  procs: { name: string; stats: ProcStats }[]
  /** The bench's own threads over the measured window: the devices' (and the send stamps') and the clients'. */
  loopDelay: { devices: LoopDelay; clients: LoopDelay | undefined }
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN

/**
 * Runs the platform as processes (`separate`: broker, ingest, API as deployed by docker-compose; `embedded`: the
 * broker with the ingest inside, and the API) against `influxUrl`, and measures each rate in turn.
 */
export async function runLatency(opts: {
  root: string
  influxUrl: string
  influxPid?: number | undefined
  mode: 'separate' | 'embedded'
  rates: number[]
  seconds: number
  clients: number
  devices?: number
  /** Node flags of the broker and of the API (the separate ingest runs with none, as compose runs it). */
  nodeFlags?: string[]
  apiNodeFlags?: string[]
}): Promise<LatencyRow[]> {
  const tmp = makeTempDir('mytho-bench-latency-')
  const registryFile = join(tmp.path, 'bench-fleet.json')
  const fleetDevices = syntheticFleet(opts.devices ?? 500, 1)
  writeFileSync(registryFile, JSON.stringify(fleetDevices))
  const mqttPort = await freePort()
  const httpPort = await freePort()
  const db = `latency_${Date.now() % 1e9}`
  const common = { DATA_DIR: tmp.path, LOG_LEVEL: 'info', INFLUX_URL: opts.influxUrl, INFLUX_DB: db, DEVICE_REGISTRY_FILE: registryFile }
  const brokerEnv = {
    ...common,
    MQTT_PORT: String(mqttPort),
    MQTT_HOST: '127.0.0.1',
    MQTT_WS_PORT: 'off',
    MQTT_MAX_PUBLISH_PER_S: '0',
    MALLOC_ARENA_MAX: '2',
    MALLOC_MMAP_THRESHOLD_: '1048576',
  }
  const node = (entry: string, flags: string[] = []) => [...flags, '--import', 'tsx', entry]
  const services: { name: string; child: import('node:child_process').ChildProcess }[] = []
  const devices: { id: string; client: MqttClient }[] = []
  let worker: Worker | undefined
  try {
    const start = async (name: string, entry: string, env: Record<string, string>, ready: RegExp, flags?: string[]) =>
      services.push({ name, child: (await startChild(process.execPath, node(entry, flags), { cwd: opts.root, env }, ready)).child })
    if (opts.mode === 'embedded') await start('broker+ingest', 'platform/src/embedded-main.ts', brokerEnv, /broker\+ingest: MQTT/, opts.nodeFlags)
    else {
      await start('broker', 'broker/src/main.ts', brokerEnv, /broker: MQTT/, opts.nodeFlags)
      await start('ingest', 'ingest/src/main.ts', { ...common, MQTT_URL: `mqtt://127.0.0.1:${mqttPort}` }, /ingest subscribed/)
    }
    await start(
      'api',
      'api/src/main.ts',
      { ...common, MQTT_URL: `mqtt://127.0.0.1:${mqttPort}`, HTTP_PORT: String(httpPort), HTTP_HOST: '127.0.0.1', ADMIN_PASSWORD, API_RATE_LIMIT_PER_MIN: '0' },
      /api: map and API on/,
      opts.apiNodeFlags,
    )
    const url = `http://127.0.0.1:${httpPort}`
    // Each client is its own operator session, as 20 browsers are.
    const cookies: string[] = []
    for (let i = 0; i < opts.clients; i++) {
      const res = await fetch(`${url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
      })
      if (res.status !== 200) throw new Error(`sign-in: ${res.status} ${await res.text()}`)
      cookies.push(
        res.headers
          .getSetCookie()
          .map((c) => c.split(';')[0])
          .join('; '),
      )
    }
    const secrets = readDemoSecrets(tmp.path)!
    // 50 at a time: each CONNECT costs the broker a scrypt verification.
    for (let i = 0; i < fleetDevices.length; i += 50)
      devices.push(
        ...(await Promise.all(
          fleetDevices.slice(i, i + 50).map(async (d) => ({
            id: d.id,
            client: await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
              clientId: d.id,
              username: d.id,
              password: secrets.devices[d.id]!,
              reconnectPeriod: 0,
              keepalive: 300,
            }),
          })),
        )),
      )
    const kinds = new Map(fleetDevices.map((d) => [d.id, d.kind]))

    const runStart = wall()
    worker = new Worker(new URL('./ts-worker.mjs', import.meta.url), {
      workerData: { entry: import.meta.url, role: 'latency-clients', url, cookies, runStart },
    })
    const fromWorker = <T>(type: string) =>
      new Promise<T>((resolve, reject) =>
        worker!.on('message', function h(m: { type: string; message?: string }) {
          if (m.type === 'error') reject(new Error(`socket.io client: ${m.message}`))
          if (m.type === type) {
            worker!.off('message', h)
            resolve(m as T)
          }
        }),
      )
    await fromWorker('ready')

    const lastTs = new Map<string, number>()
    const body = (id: string, sentUs: number): string => {
      // Distinct (device, ts) keys: a second reading in the same ms would replace the first in storage.
      const ts = Math.max(Date.now(), (lastTs.get(id) ?? 0) + 1)
      lastTs.set(id, ts)
      const kind = kinds.get(id)
      const seq = Math.round(sentUs)
      switch (kind) {
        case 'traffic':
          return JSON.stringify({ kind, ts, seq, intervalS: 60, vehicleCount: 42, avgSpeedKmh: 31.5, occupancyPct: 12.5 })
        case 'water_level':
          return JSON.stringify({ kind, ts, seq, waterLevelCm: 120 })
        case 'rain':
          return JSON.stringify({ kind, ts, seq, rainMm: 0.4 })
        case 'salinity':
          return JSON.stringify({ kind, ts, seq, salinityGL: 0.31 })
        default:
          return JSON.stringify({ kind, ts, seq, pm25UgM3: 27.5 })
      }
    }

    const rows: LatencyRow[] = []
    for (const rate of opts.rates) {
      let sent = 0
      let acked = 0
      let next = 0
      const started = wall()
      const warmUpMs = 2000
      let measuring = false
      let before: [string, number, ProcStats][] = []
      let ackedAtMeasure = 0
      let devicesLoop: ReturnType<typeof timeLoopDelay> | undefined
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          const now = wall()
          if (!measuring && now - started >= warmUpMs) {
            measuring = true
            ackedAtMeasure = acked
            before = [
              ...services.map((s) => [s.name, s.child.pid!] as [string, number]),
              ...(opts.influxPid ? [['influxd', opts.influxPid] as [string, number]] : []),
            ].map(([n, pid]) => [n, pid, procStats(pid)])
            worker!.postMessage({ type: 'measure' })
            devicesLoop = timeLoopDelay()
          }
          // Round-robin over the devices, as many as are due by now: an even `rate` per second.
          const due = Math.floor(((now - started) / 1000) * rate) - sent
          for (let i = 0; i < due; i++) {
            const d = devices[next++ % devices.length]!
            d.client.publish(readingsTopic(d.id), body(d.id, (wall() - runStart) * 1000), { qos: 1 }, (err) => {
              if (!err) acked++
            })
          }
          sent += Math.max(0, due)
          if (now - started >= warmUpMs + opts.seconds * 1000) {
            clearInterval(timer)
            resolve()
          }
        }, 5)
      })
      const devicesDelay = devicesLoop!.stop()
      const procs = before.map(([name, pid, b]) => ({ name, stats: procDelta(pid, b) }))
      const measured = acked - ackedAtMeasure
      // The last readings' batch and flush, before the clients report.
      await new Promise((r) => setTimeout(r, 500))
      worker.postMessage({ type: 'report' })
      const { reports, loopDelay } = await fromWorker<{ reports: ClientReport[]; loopDelay: LoopDelay | undefined }>('report')
      const all = reports.flatMap((r) => r.latencies).sort((a, b) => a - b)
      if (all.length === 0) throw new Error(`no reading reached a Socket.IO client at ${rate}/s`)
      rows.push({
        rate,
        p50: pct(all, 50),
        p95: pct(all, 95),
        p99: pct(all, 99),
        max: all.at(-1)!,
        samples: all.length,
        measured,
        procs,
        loopDelay: { devices: devicesDelay, clients: loopDelay },
      })
    }
    return rows
  } finally {
    worker?.postMessage({ type: 'close' })
    await Promise.all(devices.map((d) => d.client.endAsync()))
    for (const s of [...services].reverse()) await stopChild(s.child)
    await fetch(`${opts.influxUrl}/query?q=${encodeURIComponent(`DROP DATABASE "${db}"`)}`, { method: 'POST' }).catch(() => undefined)
    tmp.cleanup()
  }
}

const loopText = (d: LoopDelay | undefined) => (d ? `${d.p99.toFixed(1)} / ${d.max.toFixed(1)}` : '—')

export function latencyTable(mode: string, rows: LatencyRow[], clients: number): string {
  const lines = [
    `| mode | rate | p50 ms | p95 ms | p99 ms | max ms | samples | ${rows[0]?.procs.map((p) => `${p.name} CPU µs/reading`).join(' | ')} | bench's loop delay p99 / max ms: devices, clients |`,
    `|---|---|---|---|---|---|---|${rows[0]?.procs.map(() => '---|').join('')}---|`,
  ]
  for (const r of rows)
    lines.push(
      `| ${mode} | ${r.rate.toLocaleString('en')}/s, ${clients} clients | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ${r.samples.toLocaleString('en')} | ${r.procs.map((p) => ((p.stats.cpuS * 1e6) / Math.max(1, r.measured)).toFixed(1)).join(' | ')} | ${loopText(r.loopDelay.devices)}, ${loopText(r.loopDelay.clients)} |`,
    )
  return lines.join('\n')
}

if (isMainThread && process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { childPidByName, startInfluxd } = await import('@mytho/testing')
  const influx = await startInfluxd()
  try {
    const seconds = Number(process.env['LAT_SECONDS'] ?? 10)
    const clients = Number(process.env['LAT_CLIENTS'] ?? 20)
    const devices = Number(process.env['LAT_DEVICES'] ?? 500)
    const modes = (process.env['LAT_MODE'] ?? 'separate,embedded').split(',') as ('separate' | 'embedded')[]
    for (const mode of modes) {
      const rows = await runLatency({
        root: join(fileURLToPath(new URL('../..', import.meta.url))),
        influxUrl: influx.url,
        influxPid: childPidByName('influxd'),
        mode,
        rates: [1000, 5000],
        seconds,
        clients,
        devices,
        nodeFlags: nodeFlagsFor('broker', 'LAT_NODE_FLAGS'),
        apiNodeFlags: nodeFlagsFor('api', 'LAT_API_FLAGS'),
      })
      process.stdout.write(`${latencyTable(mode, rows, clients)}\n\n`)
    }
  } finally {
    await influx.stop()
  }
}
