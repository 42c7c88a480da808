import { startInfluxd, waitFor, type Influxd } from '@mytho/testing'
import type { StoredReading } from '@mytho/schema'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { reading } from './contract.test-suite.ts'
import { createInfluxHttp } from './influx-http.ts'
import { BUCKET_MEASUREMENT, KEY_MEASUREMENT, frameLines } from './influx-replay-frames.ts'
import { createInfluxStore, type InfluxStore } from './influx-store.ts'
import { ident } from './line-protocol.ts'
import type { ReplayResolution } from './port.ts'

/*
 * Replay frames (issue #21) must answer exactly what the per-device query answers. Two databases get the same readings:
 * `framed` has its frames written, `plain` never does (so its stateAt is the per-device query), and every instant
 * asked of both must agree, at both resolutions, also after late readings land behind the frames.
 */
const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
/** Four whole hours ending two hours ago, so every bucket of them is closed. */
const T0 = Math.floor((Date.now() - 6 * HOUR) / HOUR) * HOUR
const T_END = T0 + 4 * HOUR

let influx: Influxd
beforeAll(async () => {
  influx = await startInfluxd()
})
afterAll(async () => {
  await influx?.stop()
})

let n = 0
function open(everyMs = 0): InfluxStore {
  const store = createInfluxStore({ url: influx.url, database: `frames_${++n}`, rollupEveryMs: 0, replayFramesEveryMs: everyMs, maxLinesPerWrite: 2_000 })
  onTestFinished(async () => {
    await store.close()
    await fetch(`${influx.url}/query?q=${encodeURIComponent(`DROP DATABASE "frames_${n}"`)}`, { method: 'POST' })
  })
  return store
}

/**
 * A small city: gauges every minute, every 7 minutes and every 25 minutes, rain gauges every 10 minutes with a field
 * sometimes missing, a gauge silent for an hour and one that changes kind; values that differ at every reading.
 */
function city(): StoredReading[] {
  const out: StoredReading[] = []
  const add = (
    deviceId: string,
    kind: StoredReading['kind'],
    everyMs: number,
    phase: number,
    fields: (i: number) => Record<string, number>,
    skip?: (ts: number) => boolean,
  ) => {
    for (let ts = T0 - 30 * MIN + phase, i = 0; ts < T_END; ts += everyMs, i++) if (!skip?.(ts)) out.push(reading({ deviceId, kind, ts, fields: fields(i) }))
  }
  for (let d = 0; d < 6; d++)
    add(`wl-fast-${d}`, 'water_level', MIN, d * 7_001, (i) => ({ waterLevelCm: 120 + ((i * 7 + d) % 61) * 1.37, batteryV: 12.1 + (i % 5) / 10 }))
  add('wl-slow-0', 'water_level', 7 * MIN, 13_000, (i) => ({ waterLevelCm: 90 + i * 0.3 }))
  add('wl-slow-1', 'water_level', 25 * MIN, 59_999, (i) => ({ waterLevelCm: 200 - i * 1.1 }))
  add(
    'wl-gap',
    'water_level',
    3 * MIN,
    1,
    (i) => ({ waterLevelCm: 150 + i }),
    (ts) => ts >= T0 + HOUR && ts < T0 + 2 * HOUR + 17 * MIN,
  )
  add('rain-0', 'rain', 10 * MIN, 4_321, (i) => (i % 3 === 0 ? { rainMm: i * 0.2 } : { rainMm: i * 0.2, rainRateMmH: (i % 7) * 3.3 }))
  add(
    'sw-kind',
    'water_level',
    11 * MIN,
    0,
    (i) => ({ waterLevelCm: 60 + i }),
    (ts) => ts >= T0 + 2 * HOUR,
  )
  add(
    'sw-kind',
    'rain',
    11 * MIN,
    0,
    (i) => ({ rainMm: i }),
    (ts) => ts < T0 + 2 * HOUR,
  )
  return out
}

/** Instants across the four hours: on and just before bucket and hour boundaries, and in between. */
const instants = (): number[] => {
  const out: number[] = []
  for (let t = T0; t < T_END; t += 23 * MIN + 17_003) out.push(t, t - 1)
  for (let h = 1; h < 4; h++) out.push(T0 + h * HOUR, T0 + h * HOUR - 1, T0 + h * HOUR + 5 * MIN - 1)
  return out
}

async function expectSameStates(framed: InfluxStore, plain: InfluxStore, lookbacks: number[] = [DAY, 20 * MIN]): Promise<void> {
  for (const resolution of ['raw', '5m'] as ReplayResolution[])
    for (const lookbackMs of lookbacks)
      for (const at of instants()) {
        const [a, b] = await Promise.all([framed.stateAt({ at, lookbackMs, resolution }), plain.stateAt({ at, lookbackMs, resolution })])
        expect(a, `${resolution} at T0+${(at - T0) / MIN} min, look-back ${lookbackMs / MIN} min`).toEqual(b)
      }
}

async function bothWith(readings: StoredReading[]): Promise<[InfluxStore, InfluxStore]> {
  const framed = open()
  const plain = open()
  for (const store of [framed, plain]) {
    await store.init()
    await store.writeReadings(readings)
    await store.rollUp(T0 - HOUR, T_END)
  }
  return [framed, plain]
}

const frameCount = async (db: string) => {
  const http = createInfluxHttp({ url: influx.url })
  try {
    const s = await http.query(`SELECT count("n") FROM ${ident(KEY_MEASUREMENT)},${ident(BUCKET_MEASUREMENT)}`, db)
    return Object.fromEntries(s.map((x) => [x.name, Number(x.values[0]?.[1] ?? 0)])) as Record<string, number>
  } finally {
    http.close()
  }
}

describe('replay frames on InfluxDB', () => {
  it('answer every instant exactly as the per-device query does, raw and 5-minute, and are what stateAt reads', async () => {
    const [framed, plain] = await bothWith(city())
    await framed.flushReplayFrames(T_END)
    const counts = await frameCount(`frames_${n - 1}`)
    // Hourly keyframes at least, and one per 5-minute bucket from the first reading's hour.
    expect(counts[BUCKET_MEASUREMENT]).toBeGreaterThanOrEqual(5 * 12)
    expect(counts[KEY_MEASUREMENT]).toBeGreaterThanOrEqual(5)
    const probe = { at: T0 + 2 * HOUR + 31 * MIN, lookbackMs: DAY, resolution: 'raw' as const }
    const before = await framed.stateAt(probe)
    expect(before.length).toBe(11)
    await expectSameStates(framed, plain)
    // The raw points gone, the frames still answer: stateAt reads them, not the per-device query.
    const http = createInfluxHttp({ url: influx.url })
    onTestFinished(() => http.close())
    await http.query('DROP MEASUREMENT "water_level"', `frames_${n - 1}`)
    expect(await framed.stateAt(probe)).toEqual(before)
  })

  it('are written again after readings land behind them, and a frame only partly written is never read', async () => {
    const all = city()
    const late = all.filter((r) => r.deviceId === 'wl-slow-1' || (r.deviceId === 'rain-0' && r.ts > T0 + HOUR && r.ts < T0 + 2 * HOUR))
    const [framed, plain] = await bothWith(all.filter((r) => !late.includes(r)))
    await framed.flushReplayFrames(T_END)
    const db = `frames_${n - 1}`
    // Late: a whole device, and an hour of another, written after its frames were (the frames need no roll-up for it).
    await framed.writeReadings(late)
    await plain.writeReadings(late)
    await plain.rollUp(T0 - HOUR, T_END)
    await framed.flushReplayFrames(T_END)
    await expectSameStates(framed, plain)

    // A newer build of a keyframe that says it has 3 points but has 1 (a write cut short): the per-device query answers
    // (its 5-minute buckets from the roll-ups, so those are brought up to date first).
    await framed.rollUp(T0 - HOUR, T_END)
    const http = createInfluxHttp({ url: influx.url })
    onTestFinished(() => http.close())
    const at = T0 + 3 * HOUR + 2 * MIN
    const [bogus] = frameLines(KEY_MEASUREMENT, T0 + 3 * HOUR, [['wl-fast-0', [at, { waterLevelCm: -1 }], null]], Date.now() * 10)
    await http.write(db, bogus!.replace('n=1i', 'n=3i'), 'ns')
    for (const resolution of ['raw', '5m'] as ReplayResolution[])
      expect(await framed.stateAt({ at, lookbackMs: DAY, resolution })).toEqual(await plain.stateAt({ at, lookbackMs: DAY, resolution }))
  })

  it('are written by the writer on its own, from the oldest reading replay reaches, without a flush', async () => {
    const store = open(50)
    await store.init()
    await store.writeReadings(city())
    const db = `frames_${n}`
    // Every closed bucket from the keyframe boundary before the first reading: 4.5 h of readings, 6 h of buckets at most.
    await waitFor(async () => ((await frameCount(db))[BUCKET_MEASUREMENT] ?? 0) >= 4 * 12, { timeoutMs: 30_000, what: 'replay frames' })
    const at = T0 + HOUR + 2 * MIN
    expect((await store.stateAt({ at, lookbackMs: DAY, resolution: 'raw' })).map((p) => p.deviceId)).toContain('wl-fast-0')
  })

  it('are put right by a restarted writer for readings it drains before its first sweep', async () => {
    // Older than any keyframe a sweep of the city restarts from (those are within 6 h of its end).
    const late = Array.from({ length: 7 }, (_, i) => reading({ deviceId: 'wl-old', ts: T0 - 20 * HOUR + i * 10 * MIN, fields: { waterLevelCm: 140 + i } }))
    const [framed, plain] = await bothWith(city())
    await framed.flushReplayFrames(T_END)
    await framed.close()
    // The ingest again, after a restart, draining its spool of readings older than the newest keyframe.
    const again = createInfluxStore({ url: influx.url, database: `frames_${n - 1}`, rollupEveryMs: 0, replayFramesEveryMs: 0 })
    onTestFinished(() => again.close())
    await again.init()
    await again.writeReadings(late)
    await plain.writeReadings(late)
    await plain.rollUp(T0 - DAY, T_END)
    await again.flushReplayFrames(T_END)
    await expectSameStates(again, plain, [DAY])
  })
})
