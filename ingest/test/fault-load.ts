import { spawn, type ChildProcess } from 'node:child_process'
import { appendFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import mqtt, { type MqttClient } from 'mqtt'
import { loadRegistryFile, PipelineHealth, PLATFORM_HEALTH_TOPIC, readingsTopic } from '@mytho/schema'
import { createBroker, loadBrokerConfig } from '@mytho/broker'
import { readDemoSecrets, SERVICE_ACCOUNTS, silentLogger, type DemoSecrets } from '@mytho/runtime'
import { createInfluxStore } from '@mytho/storage'
import { makeTempDir, startInfluxd, waitFor } from '@mytho/testing'
import { createIngest } from '../src/ingest.ts'
import { ingestConfig } from './pipeline.ts'

/*
 * Steady simulated load and counting for the fault tests (and ingest/bench/fault-soak.ts): real MQTT.js
 * devices with their own credentials publishing QoS 1 readings with distinct (deviceId, ts) keys, a
 * reading counted as acknowledged only when MQTT.js's publish callback fires without error; InfluxDB
 * counted by InfluxQL; real broker and ingest processes that can be SIGKILLed.
 */

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))

/** Devices with a single-field reading kind, so a count over one field is a count of points. */
const kindField = { air_quality: 'pm25UgM3', water_level: 'waterLevelCm' } as const
type LoadKind = keyof typeof kindField

export interface LoadStats {
  published: number
  acknowledged: number
  errors: number
}

export interface Load {
  stats: LoadStats
  /** Devices connected right now. */
  connected(): number
  /** Devices that connected again since the load started (after a broker node died: to another node). */
  reconnected(): number
  /** Publish calls with no callback yet (MQTT.js's in-flight and offline queue). */
  unacknowledged(): number
  /** Stops publishing and waits until every publish has its callback, then disconnects. */
  stop(timeoutMs?: number): Promise<LoadStats>
  /** When the load began: every reading's ts is at or after it. */
  t0: number
}

/**
 * `devices` seed devices (air-quality and water-level ones) each publishing `ratePerDevice` readings/s.
 * MQTT.js reconnects every 250 ms and resends publishes still unacknowledged; with `alsoUrls` (other broker nodes)
 * each reconnect tries the next address, as a device given every broker's address does.
 */
export async function startLoad(mqttUrl: string, secrets: DemoSecrets, opts: { devices: number; ratePerDevice: number; alsoUrls?: string[] }): Promise<Load> {
  const registry = loadRegistryFile()
  const chosen = registry.devices.filter((d) => d.kind in kindField).slice(0, opts.devices)
  if (chosen.length < opts.devices) throw new Error(`only ${chosen.length} single-field devices in the seed fleet`)
  const stats: LoadStats = { published: 0, acknowledged: 0, errors: 0 }
  // Keys start an hour back, 1 ms apart per device: distinct, never "in the future", whatever the rate.
  const t0 = Date.now() - 3_600_000
  const clients: MqttClient[] = []
  const reconnected = new Set<string>()
  let stopped = false
  const timers: NodeJS.Timeout[] = []
  const tickMs = 50
  const servers = opts.alsoUrls && [mqttUrl, ...opts.alsoUrls].map((u) => ({ host: new URL(u).hostname, port: Number(new URL(u).port) }))
  for (const d of chosen) {
    const client = await mqtt.connectAsync(mqttUrl, {
      ...(servers ? { servers } : {}),
      clientId: d.id,
      username: d.id,
      password: secrets.devices[d.id]!,
      reconnectPeriod: 250,
      connectTimeout: 5_000,
    })
    client.on('error', () => {}) // refused/broken connections are retried by reconnectPeriod
    client.on('connect', () => reconnected.add(d.id))
    clients.push(client)
    const field = kindField[d.kind as LoadKind]
    let seq = 0
    let owed = 0
    timers.push(
      setInterval(() => {
        if (stopped) return
        owed += (opts.ratePerDevice * tickMs) / 1000
        for (; owed >= 1; owed--) {
          const ts = t0 + seq
          const body = { kind: d.kind, ts, seq: seq++, [field]: 20 + (seq % 100) / 10 }
          stats.published++
          client.publish(readingsTopic(d.id), JSON.stringify(body), { qos: 1 }, (err) => {
            if (err) stats.errors++
            else stats.acknowledged++
          })
        }
      }, tickMs),
    )
  }
  return {
    stats,
    t0,
    connected: () => clients.filter((c) => c.connected).length,
    reconnected: () => reconnected.size,
    unacknowledged: () => stats.published - stats.acknowledged - stats.errors,
    async stop(timeoutMs = 30_000) {
      stopped = true
      for (const t of timers) clearInterval(t)
      await waitFor(() => stats.acknowledged + stats.errors === stats.published, { timeoutMs, what: 'every publish to be acknowledged' })
      await Promise.all(clients.map((c) => c.endAsync()))
      return { ...stats }
    },
  }
}

/** Points stored since `t0` in the load's measurements, and how many distinct (deviceId, ts) keys they have. */
export async function countStored(influxUrl: string, t0: number, db = 'mytho'): Promise<{ stored: number; distinct: number }> {
  let stored = 0
  let distinct = 0
  for (const [kind, field] of Object.entries(kindField)) {
    // count() counts rows; a series is one (deviceId, …) tag set and a row one timestamp in it, so rows are
    // distinct keys by construction in InfluxDB; `stored` counts every field value written, `distinct` the keys.
    const q = `SELECT count("${field}") FROM "${kind}" WHERE time >= ${t0}ms GROUP BY "deviceId"`
    const res = await fetch(`${influxUrl}/query?db=${db}&epoch=ms&q=${encodeURIComponent(q)}`)
    const body = (await res.json()) as { results: { series?: { values: [number, number][] }[] }[] }
    for (const s of body.results[0]?.series ?? []) for (const [, n] of s.values) stored += n
    const q2 = `SELECT count(distinct("seq")) FROM "${kind}" WHERE time >= ${t0}ms GROUP BY "deviceId"`
    const res2 = await fetch(`${influxUrl}/query?db=${db}&epoch=ms&q=${encodeURIComponent(q2)}`)
    const body2 = (await res2.json()) as { results: { series?: { values: [number, number][] }[] }[] }
    for (const s of body2.results[0]?.series ?? []) for (const [, n] of s.values) distinct += n
  }
  return { stored, distinct }
}

export interface Child {
  child: ChildProcess
  output(): string
  exited: Promise<void>
  kill(signal: NodeJS.Signals): Promise<void>
}

/** Runs a service's real entry point (`broker/src/main.ts`, `ingest/src/main.ts`) as its own process. */
export function spawnService(entry: string, env: Record<string, string>): Child {
  let out = ''
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: repoRoot,
    env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-200_000)))
  child.stderr!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-200_000)))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    child,
    output: () => out,
    exited,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      await exited
    },
  }
}

/** Broker settings for load: no per-device publish rate limit (the load is faster than a real device). */
export const loadBrokerEnv = { MQTT_MAX_PUBLISH_PER_S: '0', MQTT_WS_PORT: 'off', MQTT_HOST: '127.0.0.1' }

/** Counts for the closing note: appended as a JSON line to $FAULT_COUNTS_FILE when set. */
export function recordCounts(test: string, counts: Record<string, number | string>): void {
  const file = process.env['FAULT_COUNTS_FILE']
  if (file) appendFileSync(file, `${JSON.stringify({ test, ...counts })}\n`)
}

/** The latest retained PipelineHealth on the platform topic, read as the API reads it (svc-api). */
export async function watchHealth(
  mqttUrl: string,
  secrets: DemoSecrets,
): Promise<{ latest(): PipelineHealth | undefined; seen: Set<string>; stop(): Promise<void> }> {
  const client = await mqtt.connectAsync(mqttUrl, {
    clientId: `mytho-api-watch-${process.pid}`,
    username: SERVICE_ACCOUNTS.api,
    password: secrets.services[SERVICE_ACCOUNTS.api]!,
    reconnectPeriod: 250,
  })
  client.on('error', () => {})
  let latest: PipelineHealth | undefined
  const seen = new Set<string>()
  client.on('message', (_topic, payload) => {
    const parsed = PipelineHealth.safeParse(JSON.parse(payload.toString()))
    if (parsed.success) {
      latest = parsed.data
      seen.add(parsed.data.status)
    }
  })
  await client.subscribeAsync(PLATFORM_HEALTH_TOPIC, { qos: 0 })
  return { latest: () => latest, seen, stop: () => client.endAsync() }
}

/**
 * The platform the InfluxDB fault tests break: a real influxd, the broker and the ingest (in-process, alerts off)
 * on a temp DATA_DIR. `ingestEnv` adds the test's own ingest settings; stop() tears down what was started.
 */
export async function startInfluxPlatform(prefix: string, ingestEnv: Record<string, string>) {
  const dir = makeTempDir(prefix)
  const stops: (() => Promise<void> | void)[] = [() => dir.cleanup()]
  const stop = async () => {
    for (const s of stops.splice(0)) await s()
  }
  try {
    const influxd = await startInfluxd()
    stops.unshift(() => influxd.stop())
    const broker = await createBroker(loadBrokerConfig({ ...loadBrokerEnv, DATA_DIR: dir.path, MQTT_PORT: '0' }), { logger: silentLogger })
    stops.unshift(() => broker.stop())
    const mqttUrl = `mqtt://127.0.0.1:${(await broker.start()).mqttPort}`
    const secrets = readDemoSecrets(dir.path)!
    const store = createInfluxStore({ url: influxd.url, database: 'mytho', timeoutMs: 2_000 })
    stops.unshift(() => store.close())
    const ingest = createIngest(ingestConfig(mqttUrl, dir.path, { ALERTS_ENABLED: 'false', ...ingestEnv }), {
      store,
      registry: loadRegistryFile(),
      logger: silentLogger,
    })
    stops.unshift(() => ingest.stop())
    await ingest.start()
    return { influxd, ingest, mqttUrl, secrets, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
export type InfluxPlatform = Awaited<ReturnType<typeof startInfluxPlatform>>
