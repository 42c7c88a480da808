/*
 * The alert engine's cost per reading on each incident store, driven as the ingest drives it (alerting.ts): a
 * batch evaluated, then made durable before it would be acknowledged — one SQLite transaction (WAL, synchronous
 * FULL) or one commit to Redis of the worker's mirror (a Lua script; Redis with appendonly on, appendfsync
 * everysec and always). The seed fleet's 55 devices, values wandering across the alarm lines so holds move and
 * incidents are raised and cleared. One process, no broker or storage: what the alert store adds to the ingest.
 * Redis's own CPU (its process) is not in the figures: `commitUs` is the round trip, script included.
 *
 *   npx tsx ingest/bench/alert-store.ts   (BENCH_BATCHES=400, BENCH_BATCH=500)
 */
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { createAlertEngine, createRedisEngineStore, defaultAlertRules, openIncidentStore, type EngineIncidentStore } from '@mytho/alerts'
import { loadRegistryFile, type StoredReading } from '@mytho/schema'
import { makeTempDir, startRedisServer } from '@mytho/testing'

const batches = Number(process.env['BENCH_BATCHES'] ?? 400)
const batchSize = Number(process.env['BENCH_BATCH'] ?? 500)
const registry = loadRegistryFile()
const say = (msg: string, extra: Record<string, unknown> = {}) => process.stdout.write(`${msg} ${JSON.stringify(extra)}\n`)

/** Deterministic readings: each device's value walks around its rule's lines, one reading every 10 s of device time. */
function* readings(t0: number): Generator<StoredReading[]> {
  let seed = 7
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
  const walk = new Map(registry.devices.map((d) => [d.id, rnd()]))
  let ts = t0
  for (let b = 0; b < batches; b++) {
    const out: StoredReading[] = []
    for (let i = 0; i < batchSize; i++) {
      const d = registry.devices[(b * batchSize + i) % registry.devices.length]!
      if (d === registry.devices[0]) ts += 10_000
      const x = Math.min(1, Math.max(0, walk.get(d.id)! + (rnd() - 0.5) * 0.05))
      walk.set(d.id, x)
      const fields: Record<string, number> =
        d.kind === 'water_level'
          ? { waterLevelCm: 120 + 50 * x }
          : d.kind === 'salinity'
            ? { salinityGL: 5 * x, batteryV: 11.5 + x }
            : d.kind === 'air_quality'
              ? { pm25UgM3: 20 + 60 * x }
              : d.kind === 'traffic'
                ? { avgSpeedKmh: 5 + 50 * x, occupancyPct: 70 - 60 * x, vehicleCount: 30, intervalS: 60 }
                : { rainMm: x, batteryV: 11 + 2 * x }
      out.push({ deviceId: d.id, kind: d.kind, ward: d.ward, ts, tsSource: 'device', receivedAt: ts, fields })
    }
    yield out
  }
}

async function run(name: string, store: EngineIncidentStore, commit: () => Promise<void>, writes?: () => number) {
  const t0 = Date.now() - batches * batchSize * 200
  let now = t0
  let changes = 0
  const engine = createAlertEngine({ rules: defaultAlertRules, registry, store, clock: () => now, onChange: () => changes++ })
  const evalUs: number[] = []
  const commitUs: number[] = []
  const cpu0 = process.cpuUsage()
  const wall0 = performance.now()
  for (const batch of readings(t0)) {
    now = batch.at(-1)!.ts
    const a = performance.now()
    engine.onReadings(batch, (err) => {
      throw err
    })
    const b = performance.now()
    await commit()
    commitUs.push((performance.now() - b) * 1000)
    evalUs.push((b - a) * 1000)
  }
  const wallS = (performance.now() - wall0) / 1000
  const cpu = process.cpuUsage(cpu0)
  const n = batches * batchSize
  const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0)
  const p = (xs: number[], q: number) => [...xs].sort((x, y) => x - y)[Math.floor(q * (xs.length - 1))]!
  say(name, {
    readings: n,
    incidentChanges: changes,
    usPerReading: +((wallS * 1e6) / n).toFixed(2),
    cpuUsPerReading: +((cpu.user + cpu.system) / n).toFixed(2),
    evalUsPerBatchMean: Math.round(sum(evalUs) / evalUs.length),
    commitUsPerBatchMean: Math.round(sum(commitUs) / commitUs.length),
    commitUsPerBatchP99: Math.round(p(commitUs, 0.99)),
    ...(writes ? { writesPerBatch: +(writes() / batches).toFixed(1) } : {}),
  })
}

const dir = makeTempDir('mytho-bench-alert-store-')
const redis = await startRedisServer()
try {
  const sqlite = openIncidentStore(join(dir.path, 'alerts.sqlite'))
  // As alerting.ts runs it: onReadings is one transaction, durable when it returns.
  await run('sqlite (WAL, synchronous FULL)', sqlite, async () => {})
  sqlite.close()

  const admin = new Redis(redis.url)
  await admin.config('SET', 'appendonly', 'yes')
  for (const fsync of ['everysec', 'always']) {
    await admin.config('SET', 'appendfsync', fsync)
    const conn = new Redis(redis.url)
    const store = createRedisEngineStore(conn, { prefix: `bench-${fsync}` })
    await store.loadAll()
    await run(
      `redis (appendonly, appendfsync ${fsync})`,
      store,
      async () => void (await store.commit()),
      () => store.stats.ops,
    )
    await conn.quit()
  }
  await admin.quit()
} finally {
  await redis.stop()
  dir.cleanup()
}
