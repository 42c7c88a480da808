/*
 * npm run bench — end-to-end ingest throughput on this machine.
 *
 * The broker and the ingest run as their own processes (as in production, one core each at most);
 * this process plays the devices: one MQTT.js connection per seed device with its own credentials,
 * QoS 1, a bounded window of unacknowledged publishes per connection. A run publishes N readings with
 * distinct (device, ts) keys and ends when storage holds all N; throughput = N / (last stored − first sent).
 * Each configuration runs REPEATS times; the median is reported. Writes a table to bench-results/ and stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import mqtt, { type MqttClient } from 'mqtt'
import { loadRegistryFile, readingsTopic } from '@mytho/schema'
import { readDemoSecrets } from '@mytho/runtime'
import { freePort, makeTempDir, startInfluxd, waitFor } from '@mytho/testing'

const root = fileURLToPath(new URL('..', import.meta.url))
const N = Number(process.env['BENCH_READINGS'] ?? 200_000)
const REPEATS = Number(process.env['BENCH_REPEATS'] ?? 3)
const WINDOW = 200 // unacknowledged publishes per connection

function startService(entry: string, env: Record<string, string>, readyText: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: root, env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  return new Promise((resolve, reject) => {
    const onData = (b: Buffer) => {
      out += b.toString()
      if (out.includes(readyText)) resolve(child)
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code) => reject(new Error(`${entry} exited ${code}: ${out.slice(-2000)}`)))
  })
}

const stop = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null ? r() : (c.once('exit', () => r()), c.kill('SIGTERM'))))

async function publishAll(clients: { id: string; client: MqttClient }[], perMessage: number, runStart: number) {
  const perDevice = Math.ceil(N / clients.length)
  let sent = 0
  await Promise.all(
    clients.map(async ({ id, client }, ci) => {
      const device = loadRegistryFile().get(id)!
      let inflight = 0
      let i = 0
      const count = Math.min(perDevice, N - ci * perDevice)
      await new Promise<void>((resolve, reject) => {
        const pump = () => {
          while (inflight < WINDOW && i < count) {
            const batch: object[] = []
            for (let k = 0; k < perMessage && i < count; k++, i++) batch.push(body(device.kind, runStart - count + i))
            inflight++
            sent += batch.length
            client.publish(readingsTopic(id), JSON.stringify(perMessage === 1 ? batch[0] : batch), { qos: 1 }, (err) => {
              if (err) return reject(err)
              inflight--
              if (i >= count && inflight === 0) resolve()
              else pump()
            })
          }
          if (count <= 0) resolve()
        }
        pump()
      })
    }),
  )
  return sent
}

function body(kind: string, ts: number): object {
  switch (kind) {
    case 'traffic':
      return { kind, ts, intervalS: 60, vehicleCount: 42, motorbikeCount: 36, avgSpeedKmh: 31.5, occupancyPct: 12.5 }
    case 'water_level':
      return { kind, ts, waterLevelCm: 120 + (ts % 60), batteryV: 12.7 }
    case 'rain':
      return { kind, ts, rainMm: 0.4 }
    case 'salinity':
      return { kind, ts, salinityGL: 0.31 }
    default:
      return { kind, ts, pm25UgM3: 27.5 }
  }
}

interface Backend {
  name: string
  env: Record<string, string>
  count(): Promise<number>
  reset(): Promise<void>
}

async function runOnce(backend: Backend, perMessage: number): Promise<{ sentPerS: number; storedPerS: number; seconds: number }> {
  const tmp = makeTempDir('mytho-bench-')
  const mqttPort = await freePort()
  const common = { DATA_DIR: tmp.path, LOG_LEVEL: 'info', ...backend.env }
  const dataDir = common.DATA_DIR
  const broker = await startService('broker/src/main.ts', { ...common, MQTT_PORT: String(mqttPort), MQTT_HOST: '127.0.0.1', MQTT_WS_PORT: 'off' }, 'broker listening')
  const ingest = await startService('ingest/src/main.ts', { ...common, MQTT_URL: `mqtt://127.0.0.1:${mqttPort}`, INGEST_CLIENT_ID: `bench-${Date.now() % 1e6}` }, 'ingest subscribed')
  const secrets = readDemoSecrets(dataDir)!
  const devices = loadRegistryFile().devices.slice(0, 50)
  const clients = await Promise.all(
    devices.map(async (d) => ({ id: d.id, client: await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: d.id, username: d.id, password: secrets.devices[d.id]!, reconnectPeriod: 0 }) })),
  )
  await backend.reset()
  const t0 = performance.now()
  const sent = await publishAll(clients, perMessage, Date.now() - 1000)
  const tAcked = performance.now()
  await waitFor(async () => (await backend.count()) >= sent, { timeoutMs: 600_000, intervalMs: 100, what: 'all readings stored' })
  const tStored = performance.now()
  await Promise.all(clients.map((c) => c.client.endAsync()))
  await stop(ingest)
  await stop(broker)
  tmp.cleanup()
  return { sentPerS: sent / ((tAcked - t0) / 1000), storedPerS: sent / ((tStored - t0) / 1000), seconds: (tStored - t0) / 1000 }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

async function main() {
  const influx = await startInfluxd()
  const db = 'bench'
  const influxBackend: Backend = {
    name: 'InfluxDB 1.6.7',
    env: { INFLUX_URL: influx.url, INFLUX_DB: db },
    reset: async () => {
      await fetch(`${influx.url}/query?q=${encodeURIComponent(`DROP DATABASE "${db}"; CREATE DATABASE "${db}"`)}`, { method: 'POST' })
    },
    count: async () => {
      const q = 'SELECT count("batteryV") FROM "water_level"; SELECT count("vehicleCount") FROM "traffic"; SELECT count("rainMm") FROM "rain"; SELECT count("salinityGL") FROM "salinity"; SELECT count("pm25UgM3") FROM "air_quality"'
      const res = (await (await fetch(`${influx.url}/query?db=${db}&q=${encodeURIComponent(q)}`)).json()) as { results: { series?: { values: [string, number][] }[] }[] }
      return res.results.reduce((s, r) => s + (r.series?.[0]?.values[0]?.[1] ?? 0), 0)
    },
  }
  let sqliteDir = ''
  const sqliteBackend: Backend = {
    name: 'SQLite (embedded)',
    env: {},
    reset: async () => {},
    count: async () => {
      try {
        const d = new Database(join(sqliteDir, 'readings.sqlite'), { readonly: true, fileMustExist: true })
        try {
          return (d.prepare('SELECT count(*) AS n FROM readings').get() as { n: number }).n
        } finally {
          d.close()
        }
      } catch {
        return 0
      }
    },
  }
  const rows: string[] = []
  const configs: [Backend, number, string][] = [
    [influxBackend, 1, 'one reading per message'],
    [influxBackend, 50, 'arrays of 50 readings'],
    [sqliteBackend, 1, 'one reading per message'],
  ]
  for (const [backend, perMessage, label] of configs) {
    const results = []
    for (let r = 0; r < REPEATS; r++) {
      if (backend === sqliteBackend) {
        const t = makeTempDir('mytho-bench-sqlite-')
        sqliteDir = t.path
        backend.env = { DATA_DIR: t.path }
      }
      const res = await runOnce(backend, perMessage)
      process.stdout.write(`  ${backend.name}, ${label}, run ${r + 1}: ${Math.round(res.storedPerS)} readings/s stored (${res.seconds.toFixed(1)} s)\n`)
      results.push(res)
    }
    rows.push(`| ${backend.name} | ${label} | ${N.toLocaleString('en')} | ${Math.round(median(results.map((x) => x.storedPerS))).toLocaleString('en')} | ${Math.round(median(results.map((x) => x.sentPerS))).toLocaleString('en')} |`)
  }
  await influx.stop()
  const header = `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}; median of ${REPEATS}\n\n| storage | messages | readings | stored readings/s (publish → durable) | acknowledged readings/s |\n|---|---|---|---|---|\n`
  const table = header + rows.join('\n') + '\n'
  mkdirSync(join(root, 'bench-results'), { recursive: true })
  writeFileSync(join(root, 'bench-results', 'ingest-throughput.md'), table)
  process.stdout.write('\n' + table)
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err) + '\n')
  process.exit(1)
})
