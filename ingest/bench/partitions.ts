/*
 * Ingest partitions (issue #10): how fast one vs two ingest workers empty the same backlog, with CPU per process.
 * Real processes: redis-server (leases), influxd 1.6.7, the broker (MQTT_PERSISTENCE=level) and the workers
 * (INGEST_PARTITIONS=8) each as their own process. 1 (or 2) workers start and split the partitions, then are
 * frozen (SIGSTOP) while the backlog is published, so it waits in the broker and the publishers cost nothing during
 * the measurement; the window runs from their SIGCONT until storage holds the whole backlog. (Keep the backlog
 * near the default: Aedes waits on a frozen subscriber's full socket, and 200,000 readings stall the publishers.)
 *
 * Then a live load (20 devices × BENCH_LIVE_RATE readings/s, QoS 1, MQTT.js in this process) for BENCH_LIVE_S
 * seconds on the same workers: acknowledged rate and CPU per process.
 *
 *   npx tsx ingest/bench/partitions.ts   (BENCH_DEVICES, BENCH_PER_DEVICE, BENCH_WORKERS=1,2, BENCH_LIVE_RATE, BENCH_LIVE_S)
 */
import mqtt from 'mqtt'
import { loadRegistryFile, readingsTopic } from '@mytho/schema'
import { readDemoSecrets } from '@mytho/runtime'
import { childPidByName, freePort, makeTempDir, procStats, startInfluxd, startRedisServer, waitFor, type ProcStats } from '@mytho/testing'
import { loadBrokerEnv, spawnService, startLoad } from '../test/fault-load.ts'
import { splitCovers, startWorker, type Worker, type WorkerEnv } from '../test/partition-harness.ts'

const P = 8
const devices = Number(process.env['BENCH_DEVICES'] ?? 20)
const perDevice = Number(process.env['BENCH_PER_DEVICE'] ?? 4000)
const workerCounts = (process.env['BENCH_WORKERS'] ?? '1,2').split(',').map(Number)
const liveRate = Number(process.env['BENCH_LIVE_RATE'] ?? 200)
const liveSeconds = Number(process.env['BENCH_LIVE_S'] ?? 8)
const say = (msg: string, extra: Record<string, unknown> = {}) => process.stdout.write(`${msg} ${JSON.stringify(extra)}\n`)

const kindField = { air_quality: 'pm25UgM3', water_level: 'waterLevelCm' } as Record<string, string>
const chosen = loadRegistryFile()
  .devices.filter((d) => d.kind in kindField)
  .slice(0, devices)
if (chosen.length < devices) throw new Error(`only ${chosen.length} single-field devices in the seed fleet`)

const dir = makeTempDir('mytho-bench-partitions-')
const [influxd, redis] = await Promise.all([startInfluxd(), startRedisServer()])
const port = await freePort()
const mqttUrl = `mqtt://127.0.0.1:${port}`
const broker = spawnService('broker/src/main.ts', { ...loadBrokerEnv, DATA_DIR: dir.path, MQTT_PORT: String(port), MQTT_PERSISTENCE: 'level' })
const env: WorkerEnv = { mqttUrl, dataDir: dir.path, influxUrl: influxd.url, redisUrl: redis.url, partitions: P, leaseTtlMs: 15_000 }
const results: Record<string, unknown>[] = []

/** Publishes `perDevice` QoS 1 readings per device, distinct (device, ts) keys from t0, 500 in flight per device. */
async function publishBacklog(t0: number): Promise<void> {
  const secrets = readDemoSecrets(dir.path)!
  await Promise.all(
    chosen.map(async (d) => {
      const c = await mqtt.connectAsync(mqttUrl, { clientId: d.id, username: d.id, password: secrets.devices[d.id]!, reconnectPeriod: 0 })
      const field = kindField[d.kind]!
      for (let base = 0; base < perDevice; base += 500) {
        const n = Math.min(500, perDevice - base)
        await Promise.all(
          Array.from({ length: n }, (_, k) =>
            c.publishAsync(readingsTopic(d.id), JSON.stringify({ kind: d.kind, ts: t0 + base + k, [field]: 20 + ((base + k) % 100) / 10 }), { qos: 1 }),
          ),
        )
      }
      await c.endAsync()
    }),
  )
}

/** Points stored with time in [from, to) in the load's two measurements. */
async function countStored(influxUrl: string, from: number, to = from + 3_000_000): Promise<{ stored: number }> {
  let stored = 0
  for (const [kind, field] of Object.entries(kindField)) {
    const q = `SELECT count("${field}") FROM "${kind}" WHERE time >= ${from}ms AND time < ${to}ms`
    const body = (await (await fetch(`${influxUrl}/query?db=mytho&epoch=ms&q=${encodeURIComponent(q)}`)).json()) as {
      results: { series?: { values: [number, number][] }[] }[]
    }
    for (const sr of body.results[0]?.series ?? []) for (const [, n] of sr.values) stored += n
  }
  return { stored }
}

const cpuOf = (pids: Record<string, number>) => Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, procStats(pid)]))

try {
  await waitFor(() => broker.output().includes('broker: MQTT'), { timeoutMs: 20_000, what: 'broker' })
  for (const k of workerCounts) {
    const total = devices * perDevice
    // Backlogs 3 h back, one round an hour apart; live loads 1 h back (startLoad): counted by time range.
    const t0 = Date.now() - 3_600_000 * (3 + results.length)
    const pids: Record<string, number> = { broker: broker.child.pid!, influxd: childPidByName('influxd')!, redis: childPidByName('redis-server')! }
    const ws: Worker[] = await Promise.all(Array.from({ length: k }, (_, i) => startWorker(`bench-${k}-${i}`, env)))
    for (const [i, w] of ws.entries()) pids[`worker${i + 1}`] = w.child.pid!
    await waitFor(() => splitCovers(ws, P), { timeoutMs: 60_000, intervalMs: 20, what: 'the workers to split the partitions' })
    // Split first, then frozen while the backlog is published (well within their lease), so none starts ahead.
    for (const w of ws) w.child.kill('SIGSTOP')
    const pubStart = Date.now()
    await publishBacklog(t0)
    say(`backlog of ${total} readings published in ${((Date.now() - pubStart) / 1000).toFixed(1)} s`)
    for (const w of ws) w.child.kill('SIGCONT')
    const start = Date.now()
    const before = cpuOf(pids)
    const storedAtStart = (await countStored(influxd.url, t0)).stored
    const end = await waitFor(async () => ((await countStored(influxd.url, t0)).stored >= total ? Date.now() : undefined), {
      timeoutMs: 300_000,
      intervalMs: 200,
      what: 'the backlog to be stored',
    })
    const after = cpuOf(pids)
    const seconds = (end - start) / 1000
    const cpu = Object.fromEntries(Object.keys(pids).map((p) => [p, Number(((after[p] as ProcStats).cpuS - (before[p] as ProcStats).cpuS).toFixed(2))]))
    const perProcessPct = Object.fromEntries(Object.entries(cpu).map(([p, s]) => [p, Math.round((100 * s) / seconds)]))
    const row = {
      workers: k,
      readings: total - storedAtStart,
      seconds: Number(seconds.toFixed(2)),
      readingsPerS: Math.round((total - storedAtStart) / seconds),
      cpuPct: perProcessPct,
      owned: ws.map((w) => w.owned().length).join('/'),
    }
    results.push(row)
    say('backlog drain', row)

    // Live: the devices publish at a steady rate to the connected workers (the load generator runs in this process).
    const secrets = readDemoSecrets(dir.path)!
    const live = await startLoad(mqttUrl, secrets, { devices, ratePerDevice: liveRate })
    await new Promise((r) => setTimeout(r, 1_000))
    const lb = cpuOf(pids)
    const benchBefore = process.cpuUsage()
    const ackBefore = live.stats.acknowledged
    const liveStart = Date.now()
    await new Promise((r) => setTimeout(r, liveSeconds * 1000))
    const liveS = (Date.now() - liveStart) / 1000
    const la = cpuOf(pids)
    const acked = live.stats.acknowledged - ackBefore
    const bench = process.cpuUsage(benchBefore)
    const counts = await live.stop(60_000)
    const { stored } = await waitFor(
      async () => {
        const c = await countStored(influxd.url, live.t0, live.t0 + 600_000)
        return c.stored >= counts.acknowledged ? c : undefined
      },
      { timeoutMs: 60_000, what: 'live readings stored' },
    )
    const liveRow = {
      workers: k,
      offeredPerS: devices * liveRate,
      acknowledgedPerS: Math.round(acked / liveS),
      cpuPct: {
        ...Object.fromEntries(Object.keys(pids).map((p) => [p, Math.round((100 * ((la[p] as ProcStats).cpuS - (lb[p] as ProcStats).cpuS)) / liveS)])),
        devices: Math.round((bench.user + bench.system) / 10_000 / liveS),
      },
      acknowledged: counts.acknowledged,
      stored,
    }
    results.push(liveRow)
    say('live load', liveRow)
    for (const w of ws) await w.kill('SIGTERM')
  }
  say('summary (2 cores: the workers share them with the broker, influxd and redis)', { results })
} finally {
  await broker.kill('SIGTERM')
  await influxd.stop()
  await redis.stop()
  dir.cleanup()
}
