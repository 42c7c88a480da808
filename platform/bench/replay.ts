/*
 * Replay's jump (issue #21): GET /api/v1/replay/state of 5,000 devices at random instants in the last 30 days, over
 * HTTP, against InfluxDB 1.6.7 and SQLite through our storage adapters. Seeded with 30 days of hourly readings per
 * device (3.6 million; each device's interval set to an hour, so a device is online at every instant), the 5-minute
 * roll-ups built from them, and the API judging every row by the live judge. Both resolutions are measured: the 5-minute
 * roll-ups (the default) and raw readings.
 *
 *   npx tsx platform/bench/replay.ts
 */
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { DeviceRegistry, loadRegistryFile, type DeviceRecord, type ReplayState, type StoredReading } from '@mytho/schema'
import { syntheticFleet } from '@mytho/devices-sim'
import { createApi } from '@mytho/api'
import { silentLogger } from '@mytho/runtime'
import { createInfluxStore, createSqliteStore, type InfluxStore, type ReadingStore } from '@mytho/storage'
import { makeTempDir } from '@mytho/testing'
import type { QueryRow } from './queries.ts'

const DEVICES = 5000
const DAYS = 30
const HOUR = 3_600_000
const DAY = 24 * HOUR
/** The target: p50 and p95 of a jump, ms. */
export const REPLAY_STATE_TARGET_MS = 100
const JUMPS = 60
const WARM = 5

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN
}

/** A small deterministic generator, so every run jumps to the same instants. */
function mulberry32(seed: number) {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface ReplayRow extends QueryRow {
  p95: number
}

export async function runReplayBench(influxUrl: string, log: (line: string) => void = () => {}): Promise<ReplayRow[]> {
  const tmp = makeTempDir('mytho-bench-replay-')
  const fleet: DeviceRecord[] = syntheticFleet(
    DEVICES,
    1,
    loadRegistryFile().devices.filter((d) => d.kind === 'water_level'),
  ).map((d) => ({ ...d, intervalS: 3600 }))
  const registry = new DeviceRegistry(fleet)
  const now = Date.now()
  const start = Math.floor((now - DAYS * DAY) / HOUR) * HOUR
  // Tides around the alarm lines, each gauge its own phase: statuses vary from ok to alarm across the city.
  const dayOf = (k: number): StoredReading[] =>
    fleet.flatMap((d, i) =>
      Array.from({ length: 24 }, (_, h) => {
        const ts = start + k * DAY + h * HOUR + (i % 60) * 1000
        return {
          deviceId: d.id,
          kind: 'water_level' as const,
          ward: d.ward,
          ts,
          tsSource: 'device' as const,
          receivedAt: ts,
          fields: { waterLevelCm: Math.round((130 + 35 * Math.sin((ts / HOUR + i) * 0.5)) * 10) / 10, batteryV: 12.6 },
        }
      }).filter((r) => r.ts < now),
    )
  const db = `replay_${now % 1e9}`
  const stores: [string, ReadingStore][] = [
    // Rolling a day of 5,000 devices up behind the continuous queries' backs takes longer than a query's usual 10 s.
    ['InfluxDB 1.6.7', createInfluxStore({ url: influxUrl, database: db, maxLinesPerWrite: 10_000, timeoutMs: 600_000, replayFramesEveryMs: 0 })],
    ['SQLite', createSqliteStore({ path: join(tmp.path, 'readings.sqlite') })],
  ]
  const rows: ReplayRow[] = []
  const rng = mulberry32(21)
  // Instants from a day after the seeded start (a full lookback behind each) to now.
  const instants = Array.from({ length: WARM + JUMPS }, () => Math.round(start + DAY + rng() * (now - start - DAY)))
  try {
    for (const [name, store] of stores) {
      await store.init()
      const seeded = performance.now()
      for (let k = 0; k <= DAYS; k++) {
        const day = dayOf(k)
        for (let i = 0; i < day.length; i += 20_000) await store.writeReadings(day.slice(i, i + 20_000))
      }
      const written = performance.now()
      // InfluxDB's continuous queries only roll up recent time: the days written behind them are rolled up here.
      for (let k = 0; k <= DAYS; k++) await store.rollUp(start + k * DAY, start + (k + 1) * DAY)
      const rolled = performance.now()
      // InfluxDB's replay frames, as the ingest writes them every minute for the buckets just closed: here all at once.
      if ('flushReplayFrames' in store) await (store as InfluxStore).flushReplayFrames()
      const s = (a: number, b: number) => ((b - a) / 1000).toFixed(0)
      log(
        `replay: ${name} seeded with ${DAYS} days × ${DEVICES.toLocaleString('en')} devices in ${s(seeded, written)} s, rolled up in ${s(written, rolled)} s` +
          ('flushReplayFrames' in store ? `, replay frames written in ${s(rolled, performance.now())} s` : ''),
      )
      const api = createApi(
        { HTTP_PORT: 0, HTTP_HOST: '127.0.0.1', DATA_DIR: tmp.path, AUTH_DISABLED: true, API_RATE_LIMIT_PER_MIN: 0 },
        { store, registry, logger: silentLogger },
      )
      const { port } = await api.start()
      try {
        for (const resolution of ['5m', 'raw'] as const) {
          const times: number[] = []
          for (const [n, at] of instants.entries()) {
            const t = performance.now()
            const res = await fetch(`http://127.0.0.1:${port}/api/v1/replay/state?at=${at}&resolution=${resolution}`)
            const body = (await res.json()) as ReplayState
            const elapsed = performance.now() - t
            if (res.status !== 200) throw new Error(`${name}: replay state answered ${res.status}: ${JSON.stringify(body)}`)
            const seen = body.rows.filter((r) => r[1] !== 'never_seen' && r[1] !== 'offline').length
            if (body.rows.length !== DEVICES || seen < DEVICES * 0.99)
              throw new Error(`${name}, ${resolution}: ${seen} of ${body.rows.length} rows with a reading at ${new Date(at).toISOString()}`)
            if (n >= WARM) times.push(elapsed)
          }
          rows.push({
            what: `replay: state of ${DEVICES.toLocaleString('en')} devices at any t over HTTP (${resolution === '5m' ? '5-minute roll-ups, the default' : 'raw readings'}), ${JUMPS} jumps in ${DAYS} days`,
            store: name,
            p50: pct(times, 50),
            p95: pct(times, 95),
            p99: pct(times, 99),
            target: REPLAY_STATE_TARGET_MS,
          })
        }
      } finally {
        await api.stop()
      }
    }
  } finally {
    for (const [, store] of stores) await store.close().catch(() => undefined)
    await fetch(`${influxUrl}/query?q=${encodeURIComponent(`DROP DATABASE "${db}"`)}`, { method: 'POST' }).catch(() => undefined)
    tmp.cleanup()
  }
  return rows
}

/** Met when p50 and p95 are both within the target. */
export const replayMet = (r: ReplayRow): boolean => r.p50 <= r.target! && r.p95 <= r.target!

export const replayTable = (rows: ReplayRow[]): string =>
  [
    '| read | storage | p50 ms | p95 ms | p99 ms | target |',
    '|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.what} | ${r.store} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.p99.toFixed(1)} | p50/p95 ≤ ${r.target} ms: ${replayMet(r) ? 'met' : 'NOT met'} |`,
    ),
  ].join('\n')

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { startInfluxd } = await import('@mytho/testing')
  const influx = await startInfluxd()
  try {
    process.stdout.write(`${replayTable(await runReplayBench(influx.url, (l) => process.stdout.write(`  ${l}\n`)))}\n`)
  } finally {
    await influx.stop()
  }
}
