import type { Rejection, StoredReading } from '@mytho/schema'
import { describe, expect, it, onTestFinished } from 'vitest'
import { StorageError, type ReadingStore } from './port.ts'
import type { RetentionOptions } from './retention.ts'

/*
 * The behaviour every ReadingStore adapter owes its callers. Each adapter's test file calls
 * runStoreContract with a factory that returns an empty store on real storage (a SQLite file, a
 * throwaway influxd database); nothing here knows which adapter it is talking to.
 */

/** Store options the contract sets for its retention tests; every adapter takes them. */
export interface ContractStoreOptions {
  retention?: RetentionOptions
  now?: () => number
}
export type MakeStore = (opts?: ContractStoreOptions) => Promise<{ store: ReadingStore; cleanup(): Promise<void> }>

/** 2026-11-25T00:00:00Z: 07:00 local time in Mỹ Tho. */
const T0 = Date.UTC(2026, 10, 25)
const MIN = 60_000
const HOUR = 3_600_000

export function reading(over: Partial<StoredReading> & { fields?: Record<string, number> } = {}): StoredReading {
  return {
    deviceId: 'wl-tien-01',
    kind: 'water_level',
    ward: 'my-tho',
    ts: T0,
    tsSource: 'device',
    receivedAt: (over.ts ?? T0) + 150,
    fields: { waterLevelCm: 120 },
    ...over,
  }
}

export function rejection(over: Partial<Rejection> = {}): Rejection {
  return {
    code: 'invalid_reading',
    message: 'waterLevelCm: expected number',
    raw: '{"kind":"water_level"}',
    rawBytes: 22,
    topic: 'mytho/v1/devices/wl-tien-01/readings',
    deviceId: 'wl-tien-01',
    receivedAt: T0,
    ...over,
  }
}

/** A water-level reading with just its level, at T0 + offset. */
const level = (deviceId: string, offsetMs: number, cm: number, extra: Partial<StoredReading> = {}) =>
  reading({ deviceId, ts: T0 + offsetMs, fields: { waterLevelCm: cm }, ...extra })

export function runStoreContract(name: string, makeStore: MakeStore): void {
  /** A fresh, initialised store whose teardown is registered with the test that asked for it. */
  async function open(opts?: ContractStoreOptions): Promise<ReadingStore> {
    const { store, cleanup } = await makeStore(opts)
    onTestFinished(cleanup)
    await store.init()
    return store
  }

  const historyOf = (
    store: ReadingStore,
    deviceId: string,
    window: 'raw' | '1m' | '5m' | '1h' | '1d',
    from = T0 - HOUR,
    to = T0 + 2 * HOUR,
    metric = 'waterLevelCm',
  ) => store.history({ deviceIds: [deviceId], metric, from, to, window }).then((s) => s[0]!.points)

  describe(`ReadingStore contract: ${name}`, () => {
    describe('writeReadings and latest', () => {
      it('returns the newest reading of each device, whole, whatever order the readings arrived in', async () => {
        const store = await open()
        const newest = reading({ deviceId: 'wl-tien-01', ts: T0 + 2 * MIN, seq: 42, fields: { waterLevelCm: 130.5, batteryV: 12.6 } })
        const traffic = reading({
          deviceId: 'tr-ql1-02',
          kind: 'traffic',
          ward: 'dao-thanh',
          ts: T0 + MIN,
          tsSource: 'broker',
          fields: { intervalS: 60, vehicleCount: 48, avgSpeedKmh: 31.25, occupancyPct: 12 },
        })
        await store.writeReadings([newest, level('wl-tien-01', 0, 120)])
        await store.writeReadings([traffic, level('wl-tien-01', MIN, 125)]) // an older reading arriving late
        expect(await store.latest()).toEqual([traffic, newest])
      })

      it('an empty batch is a no-op and an empty store has no latest readings', async () => {
        const store = await open()
        await store.writeReadings([])
        expect(await store.latest()).toEqual([])
      })

      it('latest for a subset of devices, ignoring unknown and malformed ids', async () => {
        const store = await open()
        await store.writeReadings([level('wl-a1', 0, 1), level('wl-b2', 0, 2), level('wl-c3', 0, 3)])
        const got = await store.latest(['wl-c3', 'wl-a1', 'wl-nope', "x' OR 1=1"])
        expect(got.map((r) => [r.deviceId, r.fields['waterLevelCm']])).toEqual([
          ['wl-a1', 1],
          ['wl-c3', 3],
        ])
        expect(await store.latest([])).toEqual([])
      })

      it('keeps metric fields as floats, so an integer value after a fractional one (or before) is fine', async () => {
        const store = await open()
        await store.writeReadings([level('wl-a1', 0, 12.5)])
        await store.writeReadings([level('wl-a1', MIN, 12)])
        await store.writeReadings([level('wl-b2', 0, 7), level('wl-b2', MIN, 7.25)])
        const pts = await historyOf(store, 'wl-a1', 'raw')
        expect(pts.map((p) => p.mean)).toEqual([12.5, 12])
        expect((await historyOf(store, 'wl-b2', 'raw')).map((p) => p.mean)).toEqual([7, 7.25])
      })

      it('refuses a batch with a device id outside the registry pattern, non-retryable, writing none of it', async () => {
        const store = await open()
        for (const bad of ['WL 1', 'wl-1\\', 'wl\n1', 'wl-1,ward=x', ''])
          await expect(store.writeReadings([level('wl-ok1', 0, 1), level(bad, 0, 1)])).rejects.toMatchObject({ name: 'StorageError', retryable: false })
        await expect(store.writeReadings([reading({ fields: { 'water level': 1 } })])).rejects.toBeInstanceOf(StorageError)
        await expect(store.writeReadings([reading({ fields: { waterLevelCm: Number.NaN } })])).rejects.toMatchObject({ retryable: false })
        expect(await store.latest()).toEqual([])
      })
    })

    describe('re-delivery', () => {
      it('the same reading written twice in one batch and again in a later batch is one point', async () => {
        const store = await open()
        const r = level('wl-a1', 5 * MIN, 140, { seq: 7 })
        await store.writeReadings([r, r])
        await store.writeReadings([r])
        expect(await store.latest()).toEqual([r])
        expect(await historyOf(store, 'wl-a1', 'raw')).toEqual([{ ts: r.ts, mean: 140, min: 140, max: 140, count: 1 }])
        expect(await historyOf(store, 'wl-a1', '1h')).toEqual([{ ts: T0, mean: 140, min: 140, max: 140, count: 1 }])
      })

      it('a copy with the same device and ts but other content is still one point (which copy wins is the adapter’s)', async () => {
        const store = await open()
        await store.writeReadings([level('wl-a1', 0, 100, { receivedAt: T0 + 1 })])
        await store.writeReadings([level('wl-a1', 0, 100, { receivedAt: T0 + 2 })])
        const pts = await historyOf(store, 'wl-a1', '1m')
        expect(pts).toEqual([{ ts: T0, mean: 100, min: 100, max: 100, count: 1 }])
        expect(await store.latest()).toHaveLength(1)
      })
    })

    describe('history', () => {
      // waterLevelCm of wl-a1 at T0 + offset: three in the first minute, two more in the first 5 minutes, one at 5 min, one at 1 h.
      const series: [number, number][] = [
        [0, 10],
        [30_000, 20],
        [59_999, 30],
        [60_000, 40],
        [299_999, 50],
        [300_000, 60],
        [HOUR, 70],
      ]
      const write = (store: ReadingStore) => store.writeReadings(series.map(([off, v]) => level('wl-a1', off, v)))

      it('raw: every point in [from, to), oldest first, value as mean/min/max and count 1', async () => {
        const store = await open()
        await write(store)
        const pts = await historyOf(store, 'wl-a1', 'raw', T0 + 30_000, T0 + 300_000)
        expect(pts).toEqual([
          { ts: T0 + 30_000, mean: 20, min: 20, max: 20, count: 1 },
          { ts: T0 + 59_999, mean: 30, min: 30, max: 30, count: 1 },
          { ts: T0 + 60_000, mean: 40, min: 40, max: 40, count: 1 },
          { ts: T0 + 299_999, mean: 50, min: 50, max: 50, count: 1 },
        ])
      })

      it('1m, 5m and 1h windows: start ts in UTC ms, exact mean/min/max/count, empty windows left out', async () => {
        const store = await open()
        await write(store)
        expect(await historyOf(store, 'wl-a1', '1m')).toEqual([
          { ts: T0, mean: 20, min: 10, max: 30, count: 3 },
          { ts: T0 + MIN, mean: 40, min: 40, max: 40, count: 1 },
          { ts: T0 + 4 * MIN, mean: 50, min: 50, max: 50, count: 1 },
          { ts: T0 + 5 * MIN, mean: 60, min: 60, max: 60, count: 1 },
          { ts: T0 + HOUR, mean: 70, min: 70, max: 70, count: 1 },
        ])
        expect(await historyOf(store, 'wl-a1', '5m')).toEqual([
          { ts: T0, mean: 30, min: 10, max: 50, count: 5 },
          { ts: T0 + 5 * MIN, mean: 60, min: 60, max: 60, count: 1 },
          { ts: T0 + HOUR, mean: 70, min: 70, max: 70, count: 1 },
        ])
        expect(await historyOf(store, 'wl-a1', '1h')).toEqual([
          { ts: T0, mean: 35, min: 10, max: 60, count: 6 },
          { ts: T0 + HOUR, mean: 70, min: 70, max: 70, count: 1 },
        ])
      })

      it('a window is labelled by its start even when `from` falls inside it, and counts only points in range', async () => {
        const store = await open()
        await write(store)
        expect(await historyOf(store, 'wl-a1', '5m', T0 + 30_000, T0 + 300_000)).toEqual([{ ts: T0, mean: 35, min: 20, max: 50, count: 4 }])
      })

      it('1d windows start at local midnight (UTC+7): 17:00Z the day before', async () => {
        const store = await open()
        const at = (iso: string, cm: number) => reading({ deviceId: 'wl-a1', ts: Date.parse(iso), fields: { waterLevelCm: cm } })
        await store.writeReadings([
          at('2026-11-25T10:00:00Z', 100), // 17:00 local on the 25th
          at('2026-11-25T16:59:59.999Z', 110), // 23:59:59.999 local on the 25th
          at('2026-11-25T17:00:00Z', 150), // local midnight: the 26th begins
          at('2026-11-25T17:30:00Z', 170),
        ])
        const pts = await historyOf(store, 'wl-a1', '1d', Date.parse('2026-11-24T00:00:00Z'), Date.parse('2026-11-28T00:00:00Z'))
        expect(pts).toEqual([
          { ts: Date.parse('2026-11-24T17:00:00Z'), mean: 105, min: 100, max: 110, count: 2 },
          { ts: Date.parse('2026-11-25T17:00:00Z'), mean: 160, min: 150, max: 170, count: 2 },
        ])
      })

      it('readings without the metric are left out of raw points and window counts', async () => {
        const store = await open()
        const air = (off: number, fields: Record<string, number>) => reading({ deviceId: 'aq-chocu-1', kind: 'air_quality', ts: T0 + off, fields })
        await store.writeReadings([air(0, { pm25UgM3: 40, pm10UgM3: 80 }), air(MIN, { pm25UgM3: 42 }), air(2 * MIN, { pm25UgM3: 44, pm10UgM3: 90 })])
        const q = { deviceIds: ['aq-chocu-1'], metric: 'pm10UgM3', from: T0, to: T0 + HOUR }
        expect((await store.history({ ...q, window: 'raw' }))[0]!.points.map((p) => p.mean)).toEqual([80, 90])
        expect((await store.history({ ...q, window: '1h' }))[0]!.points).toEqual([{ ts: T0, mean: 85, min: 80, max: 90, count: 2 }])
        expect((await store.history({ ...q, metric: 'rainMm', window: '1h' }))[0]!.points).toEqual([])
      })

      it('several devices in one query: one series per requested id, in request order, duplicates once', async () => {
        const store = await open()
        await store.writeReadings([level('wl-a1', 0, 10), level('wl-b2', 0, 20), level('wl-b2', MIN, 30), level('wl-c3', 0, 99)])
        const got = await store.history({ deviceIds: ['wl-b2', 'wl-a1', 'wl-none', 'wl-b2'], metric: 'waterLevelCm', from: T0, to: T0 + HOUR, window: '1h' })
        expect(got).toEqual([
          { deviceId: 'wl-b2', metric: 'waterLevelCm', window: '1h', points: [{ ts: T0, mean: 25, min: 20, max: 30, count: 2 }] },
          { deviceId: 'wl-a1', metric: 'waterLevelCm', window: '1h', points: [{ ts: T0, mean: 10, min: 10, max: 10, count: 1 }] },
          { deviceId: 'wl-none', metric: 'waterLevelCm', window: '1h', points: [] },
        ])
      })

      it('batteryV, shared by every kind, is found whatever the device kind', async () => {
        const store = await open()
        await store.writeReadings([reading({ deviceId: 'rn-a1', kind: 'rain', fields: { rainMm: 1, batteryV: 12.5 } })])
        expect(await historyOf(store, 'rn-a1', 'raw', T0, T0 + 1, 'batteryV')).toEqual([{ ts: T0, mean: 12.5, min: 12.5, max: 12.5, count: 1 }])
      })

      it('refuses a metric name that is not an identifier, and a malformed query, without retry', async () => {
        const store = await open()
        for (const metric of ["x') OR 1=1 --", 'water level', '$.a', ''])
          await expect(store.history({ deviceIds: ['wl-a1'], metric, from: T0, to: T0 + 1, window: 'raw' })).rejects.toMatchObject({
            name: 'StorageError',
            retryable: false,
          })
        await expect(store.history({ deviceIds: [], metric: 'waterLevelCm', from: T0, to: T0 + 1, window: 'raw' })).rejects.toMatchObject({ retryable: false })
      })
    })

    describe('retention and roll-ups', () => {
      // Recent real time, so a server enforcing 1 day of raw retention by its own clock still takes the writes;
      // the store's clock is 10 days later, so to the store the whole range is past raw retention.
      const base = Math.floor(Date.now() / HOUR) * HOUR - 4 * HOUR
      const later = () => base + 10 * 24 * HOUR
      // Values in quarters, so sums are exact whatever order they are added in.
      const batch = Array.from({ length: 18 }, (_, i) =>
        level('wl-a1', base - T0 + i * 10 * MIN, 100 + ((i * 7) % 11) * 0.25, { receivedAt: base + i * 10 * MIN }),
      )
      const windows = ['5m', '1h', '1d'] as const
      const query = (store: ReadingStore, window: (typeof windows)[number]) =>
        store.history({ deviceIds: ['wl-a1'], metric: 'waterLevelCm', from: base - HOUR, to: base + 4 * HOUR, window }).then((s) => s[0]!.points)

      it('a long-range query past raw retention is served from the roll-ups with the same points as from raw, and redelivery does not count twice', async () => {
        const fromRaw = await open()
        const fromRollups = await open({ retention: { rawDays: 1 }, now: later })
        await fromRaw.writeReadings(batch)
        await fromRollups.writeReadings(batch)
        await fromRollups.rollUp(base - HOUR, base + 4 * HOUR)
        await fromRollups.writeReadings(batch.slice(3, 9)) // redelivered
        await fromRollups.rollUp(base - HOUR, base + 4 * HOUR)
        for (const window of windows) {
          const expected = await query(fromRaw, window)
          expect(expected.length).toBeGreaterThan(0)
          expect(await query(fromRollups, window), window).toEqual(expected)
        }
        expect((await query(fromRollups, '1d')).reduce((n, p) => n + p.count, 0)).toBe(batch.length)
      })
    })

    describe('replay: state at an instant and changes in a window', () => {
      // wl-a1 every 2 minutes from T0 (values in quarters, so means are exact), tr-b2 once, wl-c3 two hours later.
      const a = [0, 2, 4, 6, 8, 10, 12].map((m, i) =>
        level('wl-a1', m * MIN, 100 + i * 2.5, { fields: { waterLevelCm: 100 + i * 2.5, batteryV: 12 + i * 0.25 } }),
      )
      const b = reading({ deviceId: 'tr-b2', kind: 'traffic', ward: 'dao-thanh', ts: T0 + 3 * MIN, fields: { vehicleCount: 40, avgSpeedKmh: 22.5 } })
      const c = level('wl-c3', 2 * HOUR, 150)
      async function seeded(): Promise<ReadingStore> {
        const store = await open()
        await store.writeReadings([...a, b, c].reverse())
        await store.rollUp(T0 - HOUR, T0 + 3 * HOUR)
        return store
      }

      it('raw state: each device’s newest reading at or before the instant, within the lookback, sorted by id', async () => {
        const store = await seeded()
        expect(await store.stateAt({ at: T0 + 7 * MIN, lookbackMs: HOUR, resolution: 'raw' })).toEqual([
          { deviceId: 'tr-b2', ts: T0 + 3 * MIN, fields: { vehicleCount: 40, avgSpeedKmh: 22.5 } },
          { deviceId: 'wl-a1', ts: T0 + 6 * MIN, fields: a[3]!.fields },
        ])
        // a reading exactly at the instant counts; one exactly a lookback before it does not
        expect(await store.stateAt({ at: T0 + 8 * MIN, lookbackMs: 5 * MIN, resolution: 'raw' })).toEqual([
          { deviceId: 'wl-a1', ts: T0 + 8 * MIN, fields: a[4]!.fields },
        ])
        expect(await store.stateAt({ at: T0 - MIN, lookbackMs: HOUR, resolution: 'raw' })).toEqual([])
        expect((await store.stateAt({ at: T0 + 3 * HOUR, lookbackMs: 2 * HOUR, resolution: 'raw' })).map((p) => [p.deviceId, p.ts])).toEqual([
          ['wl-c3', T0 + 2 * HOUR],
        ])
      })

      it('5-minute state: the bucket holding the newest point, by its start, each metric’s mean with min and max', async () => {
        const store = await seeded()
        expect(await store.stateAt({ at: T0 + 7 * MIN, lookbackMs: HOUR, resolution: '5m' })).toEqual([
          {
            deviceId: 'tr-b2',
            ts: T0,
            fields: { vehicleCount: 40, avgSpeedKmh: 22.5 },
            min: { vehicleCount: 40, avgSpeedKmh: 22.5 },
            max: { vehicleCount: 40, avgSpeedKmh: 22.5 },
          },
          // 6 and 8 minutes: 107.5 and 110
          {
            deviceId: 'wl-a1',
            ts: T0 + 5 * MIN,
            fields: { waterLevelCm: 108.75, batteryV: 12.875 },
            min: { waterLevelCm: 107.5, batteryV: 12.75 },
            max: { waterLevelCm: 110, batteryV: 13 },
          },
        ])
        // the bucket containing the instant counts whole, its readings after the instant too; one starting a lookback before does not
        expect((await store.stateAt({ at: T0 + 5 * MIN + 1, lookbackMs: HOUR, resolution: '5m' })).map((p) => [p.deviceId, p.ts - T0])).toEqual([
          ['tr-b2', 0],
          ['wl-a1', 5 * MIN],
        ])
        expect((await store.stateAt({ at: T0 + 9 * MIN, lookbackMs: 9 * MIN, resolution: '5m' })).map((p) => [p.deviceId, p.ts - T0])).toEqual([
          ['wl-a1', 5 * MIN],
        ])
      })

      it('raw changes: every reading in [from, to), oldest first, devices of one time by id', async () => {
        const store = await seeded()
        const got = await store.changes({ from: T0 + 2 * MIN, to: T0 + 8 * MIN, resolution: 'raw' })
        expect(got.map((p) => [p.deviceId, p.ts - T0])).toEqual([
          ['wl-a1', 2 * MIN],
          ['tr-b2', 3 * MIN],
          ['wl-a1', 4 * MIN],
          ['wl-a1', 6 * MIN],
        ])
        expect(got[1]!.fields).toEqual(b.fields)
      })

      it('5-minute changes: every bucket starting in [from, to), by start then device', async () => {
        const store = await seeded()
        const got = await store.changes({ from: T0, to: T0 + 15 * MIN, resolution: '5m' })
        expect(
          got.map((p) => [p.deviceId, p.ts - T0, p.fields['waterLevelCm'] ?? p.fields['vehicleCount'], p.min?.['waterLevelCm'], p.max?.['waterLevelCm']]),
        ).toEqual([
          ['tr-b2', 0, 40, undefined, undefined],
          ['wl-a1', 0, 102.5, 100, 105],
          ['wl-a1', 5 * MIN, 108.75, 107.5, 110],
          ['wl-a1', 10 * MIN, 113.75, 112.5, 115],
        ])
      })

      it('refuses an empty or too long window and a malformed query, without retry', async () => {
        const store = await seeded()
        for (const bad of [
          store.changes({ from: T0, to: T0, resolution: 'raw' }),
          store.changes({ from: T0, to: T0 + 25 * HOUR, resolution: '5m' }),
          store.stateAt({ at: T0, lookbackMs: 0, resolution: 'raw' }),
          store.stateAt({ at: T0, lookbackMs: HOUR, resolution: '1h' as 'raw' }),
        ])
          await expect(bad).rejects.toMatchObject({ name: 'StorageError', retryable: false })
      })
    })

    describe('dead letters', () => {
      /** The letters without their store-given ids, to compare with what was written. */
      const lettersOf = async (store: ReadingStore, query?: Parameters<ReadingStore['deadLetters']>[0]) =>
        (await store.deadLetters(query)).map(({ id: _id, ...r }) => r)

      it('text with spaces, commas, quotes, =, backslashes, newlines and Vietnamese round-trips exactly', async () => {
        const store = await open()
        const nasty = rejection({
          code: 'not_json',
          message: '✖ Nhiệt độ "cao", a=b\\c\n  → at waterLevelCm\r\nend with backslash \\',
          raw: `Nhiệt độ "cao", a=b\\c {"x": 'y'}\t\\n is not a newline\\`,
          rawBytes: 65,
          topic: 'mytho/v1/devices/trạm bơm 1, a=b/readings',
          deviceId: 'Trạm "1", x=y\\',
          issues: [{ code: 'invalid_type', path: ['waterLevelCm'], message: 'Dữ liệu "sai"\nmới' }],
          receivedAt: T0 + 5,
        })
        const plain = rejection({ receivedAt: T0 + 6 })
        await store.writeDeadLetters([nasty, plain])
        expect(await lettersOf(store)).toEqual([plain, nasty])
        expect(await lettersOf(store, { deviceId: nasty.deviceId! })).toEqual([nasty])
      })

      it('filters by device, code and [from, to); newest first; limit', async () => {
        const store = await open()
        const a = rejection({ deviceId: 'wl-a1', code: 'out_of_range', receivedAt: T0 + 1_000 })
        const b = rejection({ deviceId: 'wl-b2', code: 'out_of_range', receivedAt: T0 + 2_000 })
        const c = rejection({ deviceId: 'wl-a1', code: 'invalid_reading', receivedAt: T0 + 3_000 })
        const { deviceId: _, ...noDevice } = rejection({ code: 'bad_topic', topic: 'junk', receivedAt: T0 + 4_000 })
        await store.writeDeadLetters([a, b])
        await store.writeDeadLetters([c, noDevice])
        expect(await lettersOf(store)).toEqual([noDevice, c, b, a])
        expect(await lettersOf(store, { deviceId: 'wl-a1' })).toEqual([c, a])
        expect(await lettersOf(store, { code: 'out_of_range' })).toEqual([b, a])
        expect(await lettersOf(store, { deviceId: 'wl-a1', code: 'out_of_range' })).toEqual([a])
        expect(await lettersOf(store, { from: T0 + 2_000, to: T0 + 4_000 })).toEqual([c, b])
        expect(await lettersOf(store, { limit: 2 })).toEqual([noDevice, c])
        expect(await lettersOf(store, { deviceId: 'wl-none' })).toEqual([])
      })

      it('counts dead letters by code', async () => {
        const store = await open()
        expect(await store.deadLetterCounts()).toEqual({})
        await store.writeDeadLetters([
          rejection({ code: 'not_json', receivedAt: T0 + 1 }),
          rejection({ code: 'out_of_range', receivedAt: T0 + 2 }),
          rejection({ code: 'not_json', receivedAt: T0 + 3 }),
        ])
        await store.writeDeadLetters([rejection({ code: 'not_json', receivedAt: T0 + 4 })])
        expect(await store.deadLetterCounts()).toEqual({ not_json: 3, out_of_range: 1 })
      })

      it('keeps two dead letters received in the same ms, even identical ones (order within a ms is unspecified)', async () => {
        const store = await open()
        const same = rejection({ receivedAt: T0 + 7 })
        await store.writeDeadLetters([same, same, rejection({ receivedAt: T0 + 7, message: 'other' })])
        await store.writeDeadLetters([same])
        const got = await lettersOf(store)
        expect(got).toHaveLength(4)
        expect(got.filter((r) => r.message === same.message)).toEqual([same, same, same])
        expect(await store.deadLetterCounts()).toEqual({ invalid_reading: 4 })
      })

      it('counts by reason for one device and [from, to), and per hour or local day', async () => {
        const store = await open()
        await store.writeDeadLetters([
          rejection({ deviceId: 'wl-a1', code: 'not_json', receivedAt: T0 + 1_000 }),
          rejection({ deviceId: 'wl-a1', code: 'not_json', receivedAt: T0 + HOUR + 1_000 }),
          rejection({ deviceId: 'wl-b2', code: 'out_of_range', receivedAt: T0 + HOUR + 2_000 }),
          rejection({ deviceId: 'wl-a1', code: 'unknown_device', receivedAt: T0 + 30 * HOUR }),
        ])
        expect(await store.deadLetterCounts({ deviceId: 'wl-a1' })).toEqual({ not_json: 2, unknown_device: 1 })
        expect(await store.deadLetterCounts({ from: T0 + HOUR, to: T0 + 2 * HOUR })).toEqual({ not_json: 1, out_of_range: 1 })
        const hourStart = Math.floor(T0 / HOUR) * HOUR
        expect(await store.deadLetterBuckets({ from: T0, to: T0 + 2 * HOUR, bucket: 'hour' })).toEqual([
          { start: hourStart, code: 'not_json', count: 1 },
          { start: hourStart + HOUR, code: 'not_json', count: 1 },
          { start: hourStart + HOUR, code: 'out_of_range', count: 1 },
        ])
        // local midnight (UTC+7) is 17:00 UTC
        const localDay = (t: number) => Math.floor((t + 7 * HOUR) / (24 * HOUR)) * 24 * HOUR - 7 * HOUR
        const days = await store.deadLetterBuckets({ deviceId: 'wl-a1', from: T0 - 48 * HOUR, to: T0 + 48 * HOUR, bucket: 'day' })
        expect(days.reduce((n, b) => n + b.count, 0)).toBe(3)
        for (const b of days) expect(b.start).toBe(localDay(b.start))
        expect(days.find((b) => b.code === 'unknown_device')?.start).toBe(localDay(T0 + 30 * HOUR))
        await expect(store.deadLetterBuckets({ from: T0, to: T0 + 400 * 24 * HOUR, bucket: 'hour' })).rejects.toMatchObject({ retryable: false })
      })

      it('deletes dead letters by id; an id gone or foreign is skipped', async () => {
        const store = await open()
        await store.writeDeadLetters([
          rejection({ deviceId: 'wl-a1', code: 'unknown_device', receivedAt: T0 + 1_000 }),
          rejection({ deviceId: 'wl-a1', code: 'unknown_device', receivedAt: T0 + 2_000 }),
          rejection({ deviceId: 'wl-b2', code: 'unknown_device', receivedAt: T0 + 3_000 }),
        ])
        const [newest, , oldest] = await store.deadLetters()
        expect(newest?.id).toEqual(expect.any(String))
        expect(await store.deleteDeadLetters([newest!.id!, oldest!.id!, 'no-such-id'])).toBe(2)
        expect((await store.deadLetters()).map((r) => r.receivedAt)).toEqual([T0 + 2_000])
        expect(await store.deleteDeadLetters([newest!.id!])).toBe(0)
        expect(await store.deadLetterCounts()).toEqual({ unknown_device: 1 })
      })

      it('an empty batch is a no-op; a malformed query is refused without retry', async () => {
        const store = await open()
        await store.writeDeadLetters([])
        expect(await lettersOf(store)).toEqual([])
        await expect(store.deadLetters({ limit: 0 })).rejects.toMatchObject({ name: 'StorageError', retryable: false })
      })
    })

    describe('lifecycle', () => {
      it('init() twice keeps the data', async () => {
        const store = await open()
        await store.writeReadings([level('wl-a1', 0, 1)])
        await store.init()
        expect(await store.latest()).toHaveLength(1)
      })

      it('close() twice is fine; calls after close fail non-retryable', async () => {
        const store = await open()
        await store.close()
        await store.close()
        await expect(store.latest()).rejects.toMatchObject({ name: 'StorageError', retryable: false })
        await expect(store.writeReadings([level('wl-a1', 0, 1)])).rejects.toMatchObject({ name: 'StorageError', retryable: false })
      })
    })
  })
}
