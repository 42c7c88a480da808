import type { Logger } from '@mytho/runtime'
import type { AggregationWindow, DeadLetterBucketCount, HistoryPoint, HistorySeries, Rejection, StorageStatus, StoredReading } from '@mytho/schema'
import { LOCAL_UTC_OFFSET_MS, deviceKinds, metricsByKind, windowMs } from '@mytho/schema'
import { createInfluxHttp, toStorageError, type InfluxHttpOptions, type InfluxSeries } from './influx-http.ts'
import { createReplayFrameJob, stateFromFrames, type ReplayFrameJob } from './influx-replay-frames.ts'
import { GRAINS, ROLLUP_RP, createRollupJob, firstRawAt, lastRollupAt, rollupSelect, type RollupJob } from './influx-rollups.ts'
import { DEAD_LETTER_MEASUREMENT, deadLetterLine, decodeText, encodeText, ident, literal, readingLine } from './line-protocol.ts'
import { StorageError, type ReadingStore, type ReplayPoint, type ReplayResolution } from './port.ts'
import { DAY_MS, FIVE_MIN_MS, HOUR_MS, planHistory, type RetentionOptions } from './retention.ts'
import { readRawToWindow, windowCount, windowsOfRows } from './windows-from-raw.ts'
import {
  checkReadings,
  isStorableDeviceId,
  parseDeadLetterBucketQuery,
  parseDeadLetterCountQuery,
  parseDeadLetterQuery,
  parseHistoryQuery,
  parseReplayChangesQuery,
  parseReplayStateQuery,
  type DeadLetterCountFilter,
} from './validate.ts'

export interface InfluxStoreOptions extends InfluxHttpOptions {
  /** Database (1.x), or the bucket mapped through DBRP (2.x/3.x). */
  database: string
  /** Readings per /write request; larger batches are split. Default 5,000 (InfluxDB's recommended batch). */
  maxLinesPerWrite?: number
  /**
   * How long raw readings and roll-ups are kept (days, 0 = forever), set on the server by init() as retention
   * policies: the default one (raw), rp_5m and rp_1h. Default: all forever.
   */
  retention?: RetentionOptions
  /** The clock history() measures raw retention against, and the roll-up job closes buckets by, epoch ms. Default Date.now. */
  now?: () => number
  /**
   * `writer` (default; the ingest) sets up retention and roll-ups in init(), and computes the roll-ups itself when the
   * server refuses continuous queries. `reader` (the API, with a read-only token) creates nothing: it finds out whether
   * roll-ups are there to read.
   */
  role?: 'writer' | 'reader'
  /** Where a warning goes when something asked cannot be done (once per distinct warning). Default: status() only. */
  logger?: Pick<Logger, 'warn' | 'info'>
  /** How often the computed roll-up job runs, ms; 0: only on flushRollups(). Default 60,000. */
  rollupEveryMs?: number
  /** How long after a bucket ends the job first rolls it up, so slightly late readings are in it, ms. Default 120,000. */
  rollupGraceMs?: number
  /**
   * How often a writer writes the replay frames of the buckets closed since (influx-replay-frames.ts), ms; 0: only on
   * flushReplayFrames(). Default 60,000.
   */
  replayFramesEveryMs?: number
}

export interface InfluxStore extends ReadingStore {
  status(): StorageStatus
  /**
   * Runs the computed roll-up job now (closed buckets; every touched bucket with `all`) and resolves when it is done.
   * Does nothing unless this store computes roll-ups. For tests and a graceful stop.
   */
  flushRollups(opts?: { all?: boolean }): Promise<void>
  /**
   * A writer: writes the replay frames of every bucket closed (of every bucket before `upTo` if given) and not written
   * yet, or written before a reading behind them came, and resolves when done. For tests, the bench and a backfill.
   */
  flushReplayFrames(upTo?: number): Promise<void>
}

/**
 * Raw points one timed run of the replay frames reads at most: a first start over weeks of readings catches up a slice
 * a minute (about a second of this process's CPU) instead of holding the ingest's event loop for an hour.
 */
const FRAMES_POINTS_PER_RUN = 200_000

/** How often a reader looks again for roll-ups it did not find. */
const REDETECT_MS = 60_000

/*
 * The InfluxDB adapter. Schema: one measurement per device kind (`traffic`, `water_level`, …);
 * tags deviceId, kind, ward; metric fields as floats, tsSource string, receivedAt and seq integers;
 * timestamp = ts in ms. Dedup comes from InfluxDB itself: the same measurement + tag set + timestamp
 * is one point, and a second write replaces the field values it carries (last write wins).
 * Durability: /write answers 204 after the WAL is written (fsynced at wal-fsync-delay = 0s, the default).
 *
 * Retention and roll-ups (InfluxDB 1.x): init() sets the default retention policy's duration to the raw
 * retention (altering it rather than adding a new default policy, so readings already written stay visible
 * to every query that names no policy) and creates rp_5m and rp_1h with continuous queries that write
 * sum_<metric>, min_<metric>, max_<metric>, count_<metric> per 5 minutes / hour with the same tags.
 * sum and count (not mean) are kept so a window over several buckets has the exact mean.
 * A server that refuses (2.x/3.x serve the v1 /query read-only for these; a 1.x user without admin rights): retention
 * is the server's (the 2.x bucket's), checked against what was asked; when rp_5m and rp_1h exist (2.x: buckets mapped
 * to them, deploy/influxdb/init.sh), the writer computes the roll-ups itself (influx-rollups.ts). Whatever cannot be
 * done is a warning, logged once and kept in status().
 */
export function createInfluxStore(opts: InfluxStoreOptions): InfluxStore {
  const http = createInfluxHttp(opts)
  const db = opts.database
  const maxLines = opts.maxLinesPerWrite ?? 5_000
  const allMeasurements = deviceKinds.map(ident).join(',')
  // Low 6 digits of a dead letter's ns timestamp; random start so two processes rarely pick the same slot.
  let deadLetterSeq = Math.floor(Math.random() * 1_000_000)

  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn()
    } catch (err) {
      throw toStorageError(err, what)
    }
  }

  const query = (q: string) => http.query(q, db)

  /**
   * A part's windows computed here from its raw points, when a count says that is cheaper than InfluxDB's aggregates
   * (windows-from-raw.ts); undefined when the server should aggregate. `from` is `FROM … WHERE …` of the part.
   */
  const windowsFromRaw = async (
    window: Exclude<AggregationWindow, 'raw'>,
    part: { from: number; to: number },
    from: string,
    metric: string,
  ): Promise<Map<string, HistoryPoint[]> | undefined> => {
    let points = 0
    for (const s of await query(`SELECT count(${metric}) ${from} GROUP BY "deviceId"`)) for (const row of s.values) points += Number(row[1]) || 0
    const width = windowMs[window]
    const offset = window === '1d' ? LOCAL_UTC_OFFSET_MS : 0
    if (!readRawToWindow(points, windowCount(part.from, part.to, width, offset))) return undefined
    const rows = new Map<string, unknown[][]>()
    if (points > 0)
      for (const s of await query(`SELECT ${metric} ${from} GROUP BY "deviceId"`)) {
        const id = s.tags?.['deviceId']
        if (id === undefined) continue
        const into = rows.get(id)
        if (!into) rows.set(id, s.values)
        else for (const row of s.values) into.push(row)
      }
    return new Map([...rows].map(([id, r]) => [id, windowsOfRows(r, width, offset)]))
  }
  const now = opts.now ?? Date.now
  const keepDays = { raw: opts.retention?.rawDays ?? 0, '5m': opts.retention?.fiveMinuteDays ?? 0, '1h': opts.retention?.hourDays ?? 0 }
  const role = opts.role ?? 'writer'
  let defaultRp = 'autogen'
  /** What init() managed; `rollups` decides whether history() reads roll-ups. */
  let state: Omit<StorageStatus, 'warnings'> = { backend: 'influxdb', rollups: 'none', retention: role === 'reader' ? 'server' : 'not_set' }
  const readsRollups = () => state.rollups === 'continuous_queries' || state.rollups === 'computed' || state.rollups === 'read'
  /** Current warnings by topic; each distinct text is logged once. */
  const warnings = new Map<'retention' | 'rollups', string>()
  const logged = new Set<string>()
  const warn = (topic: 'retention' | 'rollups', text: string) => {
    warnings.set(topic, text)
    if (logged.has(text)) return
    logged.add(text)
    opts.logger?.warn(`InfluxDB ${db}: ${text}`, { database: db, what: topic })
  }
  let job: RollupJob | undefined
  /** The roll-up job's runs and explicit roll-ups, one at a time. */
  const rollups = backgroundWork()
  let lastDetect = 0
  let frames: ReplayFrameJob | undefined
  /** The replay frames' runs and flushes, one at a time (beside the roll-ups: neither waits for the other). */
  const framesWork = backgroundWork()
  /** The server refused DELETE (2.x/3.x serve no DELETE over the v1 API): re-driven letters get a tombstone instead. */
  let deleteRefused = false

  const replayMeasurements = (resolution: ReplayResolution) =>
    resolution === 'raw' ? allMeasurements : deviceKinds.map((k) => `${ident(db)}.${ident(ROLLUP_RP['5m'])}.${ident(k)}`).join(',')

  /** Retention policies as the server lists them: name → duration in ms (0: forever; undefined: not given). */
  async function readPolicies(): Promise<Map<string, number | undefined>> {
    const series = await http.query(`SHOW RETENTION POLICIES ON ${ident(db)}`)
    const out = new Map<string, number | undefined>()
    for (const p of series) {
      const at = (name: string) => p.columns.indexOf(name)
      for (const r of p.values) {
        if (r[at('default')] === true) defaultRp = String(r[at('name')])
        out.set(String(r[at('name')]), goDurationMs(r[at('duration')]))
      }
    }
    return out
  }

  async function setUpRollups(): Promise<void> {
    const names = new Set((await readPolicies()).keys())
    // Shard groups as InfluxDB picks them for a new policy of that duration; the duration must not be shorter.
    // InfluxQL wants DURATION, REPLICATION, SHARD DURATION in that order.
    const clause = (days: number) =>
      `DURATION ${days > 0 ? `${days}d` : 'INF'} REPLICATION 1 SHARD DURATION ${days === 0 || days > 180 ? '7d' : days >= 2 ? '1d' : '1h'}`
    await http.query(`ALTER RETENTION POLICY ${ident(defaultRp)} ON ${ident(db)} ${clause(keepDays.raw)}`)
    for (const grain of ['5m', '1h'] as const) {
      const rp = ROLLUP_RP[grain]
      await http.query(
        names.has(rp)
          ? `ALTER RETENTION POLICY ${ident(rp)} ON ${ident(db)} ${clause(keepDays[grain])}`
          : `CREATE RETENTION POLICY ${ident(rp)} ON ${ident(db)} ${clause(keepDays[grain])}`,
      )
      // Dropped and created again so a changed definition takes effect; RESAMPLE FOR recomputes recent buckets
      // so readings up to that late still count (later ones: rollUp()).
      const cq = ident(`cq_${grain}`)
      await http.query(`DROP CONTINUOUS QUERY ${cq} ON ${ident(db)}`).catch(() => undefined)
      await http
        .query(
          `CREATE CONTINUOUS QUERY ${cq} ON ${ident(db)} RESAMPLE FOR ${grain === '5m' ? '1h' : '2h'} BEGIN ${rollupSelect(db, defaultRp, grain, { into: true })} END`,
        )
        .catch((err: unknown) => {
          // Another service's init() created it between our DROP and CREATE.
          if (!/already exists/.test(String((err as Error)?.message))) throw err
        })
    }
  }

  return {
    init: () =>
      wrap('init', async () => {
        try {
          await http.query(`CREATE DATABASE ${ident(db)}`)
        } catch (err) {
          // InfluxDB 2.x/3.x serve /query read-only: no CREATE there. The bucket (and its database mapping)
          // exists when SHOW DATABASES lists it; if not, say what to create instead of failing on the write.
          const e = toStorageError(err, 'init')
          if (e.retryable) throw e
          const series = await http.query('SHOW DATABASES')
          const names = series.flatMap((s) => s.values.map((v) => String(v[0])))
          if (!names.includes(db))
            throw new StorageError(
              `database ${db} does not exist and this server does not create databases over the v1 API (${e.message}); create a bucket named ${db} (InfluxDB 2.x/3.x maps it to database ${db})`,
              { cause: err, retryable: false },
            )
        }
        if (role === 'reader') return detectRollups()
        try {
          await setUpRollups()
          state = { backend: 'influxdb', rollups: 'continuous_queries', retention: 'policy' }
          warnings.clear()
        } catch (err) {
          // Refused (not admin, or a read-only v1 API): see above. A server that is down is retried.
          const e = toStorageError(err, 'init')
          if (e.retryable) throw e
          await withoutAdmin(redact(e.message))
        }
        startFrames()
      }),

    status: () => ({ ...state, warnings: [...warnings.values()] }),

    flushReplayFrames: (upTo) => wrap('flushReplayFrames', () => (frames ? framesWork.serial(() => frames!.run(upTo)) : Promise.resolve())),

    flushRollups: ({ all = false } = {}) => wrap('flushRollups', () => (job ? rollups.serial(() => job!.run(all)) : Promise.resolve())),

    rollUp: (from, to) =>
      wrap('rollUp', async () => {
        frames?.touchRange(from)
        if (job) return rollups.serial(() => job!.rollUp(from, to))
        if (state.rollups !== 'continuous_queries') return
        const range = { from: Math.floor(from / HOUR_MS) * HOUR_MS, to: Math.ceil(to / HOUR_MS) * HOUR_MS }
        for (const grain of GRAINS) await query(rollupSelect(db, defaultRp, grain, { into: true, ...range }))
      }),

    writeReadings: (readings) =>
      wrap('writeReadings', async () => {
        checkReadings(readings)
        try {
          for (let i = 0; i < readings.length; i += maxLines)
            await http.write(
              db,
              readings
                .slice(i, i + maxLines)
                .map(readingLine)
                .join('\n'),
              'ms',
            )
        } finally {
          // After the write (also a failed one: part of it may be stored), so the job never rolls up a bucket before
          // the points that made it dirty are there to read.
          const times = readings.map((r) => r.ts)
          job?.touch(times)
          frames?.touch(times)
        }
      }),

    latest: (deviceIds) =>
      wrap('latest', async () => {
        const ids = deviceIds?.filter(isStorableDeviceId)
        if (ids?.length === 0) return []
        const where = ids ? ` WHERE ${deviceFilter(ids)}` : ''
        const series = await query(`SELECT * FROM ${allMeasurements}${where} GROUP BY "deviceId" ORDER BY time DESC LIMIT 1`)
        // A device that changed kind has a newest point in two measurements; keep the newer.
        const newest = new Map<string, StoredReading>()
        for (const s of series) {
          const r = readingFromSeries(s)
          const seen = r && newest.get(r.deviceId)
          if (r && (!seen || r.ts > seen.ts)) newest.set(r.deviceId, r)
        }
        return [...newest.values()].sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0))
      }),

    history: (input) =>
      wrap('history', async () => {
        const q = parseHistoryQuery(input)
        if (role === 'reader' && !readsRollups() && now() - lastDetect >= REDETECT_MS) await detectRollups().catch(() => undefined)
        const byDevice = new Map<string, HistoryPoint[]>(q.deviceIds.map((id) => [id, []]))
        const ids = q.deviceIds.filter(isStorableDeviceId)
        if (ids.length > 0) {
          const withMetric = deviceKinds.filter((k) => (metricsByKind[k] as readonly string[]).includes(q.metric))
          // Every measurement whose kind has the metric (batteryV: all five); an unknown metric searches them all.
          const kinds = withMetric.length > 0 ? withMetric : deviceKinds
          const m = ident(q.metric)
          // 1d windows start at local midnight: epoch-aligned days shifted by -7 h (UTC+7, no DST).
          const groupBy =
            q.window === 'raw' ? '' : `GROUP BY time(${windowMs[q.window]}ms${q.window === '1d' ? `, -${LOCAL_UTC_OFFSET_MS}ms` : ''}), "deviceId" fill(none)`
          for (const part of planHistory(q.window, q.from, q.to, now(), readsRollups() ? keepDays.raw : 0)) {
            let text: string
            let toPoint: (row: unknown[]) => HistoryPoint | undefined
            if (part.source === 'raw') {
              const where = `(${deviceFilter(ids)}) AND time >= ${part.from}ms AND time < ${part.to}ms`
              const measurements = kinds.map(ident).join(',')
              if (q.window !== 'raw') {
                const windowed = await windowsFromRaw(q.window, part, `FROM ${measurements} WHERE ${where}`, m)
                if (windowed) {
                  for (const [id, points] of windowed) {
                    const into = byDevice.get(id)
                    if (into) mergePoints(into, points)
                  }
                  continue
                }
              }
              text =
                q.window === 'raw'
                  ? `SELECT ${m} FROM ${measurements} WHERE ${where} GROUP BY "deviceId"`
                  : `SELECT mean(${m}), min(${m}), max(${m}), count(${m}) FROM ${measurements} WHERE ${where} ${groupBy}`
              toPoint = q.window === 'raw' ? rawPoint : windowPoint
            } else {
              // A bucket counts when it overlaps [from, to): a roll-up cannot split its bucket.
              const grain = part.source === '5m' ? FIVE_MIN_MS : HOUR_MS
              const where = `(${deviceFilter(ids)}) AND time > ${part.from - grain}ms AND time < ${part.to}ms`
              const measurements = kinds.map((k) => `${ident(db)}.${ident(ROLLUP_RP[part.source as '5m' | '1h'])}.${ident(k)}`).join(',')
              const f = (agg: string) => ident(`${agg}_${q.metric}`)
              text = `SELECT sum(${f('sum')}), min(${f('min')}), max(${f('max')}), sum(${f('count')}) FROM ${measurements} WHERE ${where} ${groupBy}`
              toPoint = rollupPoint
            }
            for (const s of await query(text)) {
              const id = s.tags?.['deviceId']
              const points = id === undefined ? undefined : byDevice.get(id)
              if (points)
                mergePoints(
                  points,
                  s.values.map(toPoint).filter((p) => p !== undefined),
                )
            }
          }
        }
        return [...byDevice].map(([deviceId, points]): HistorySeries => ({ deviceId, metric: q.metric, window: q.window, points }))
      }),

    // From the replay frames when they are written for that instant; else one SELECT per device's newest point.
    stateAt: (input) =>
      wrap('stateAt', async () => {
        const q = parseReplayStateQuery(input)
        return (await stateFromFrames(http, db, q)) ?? stateByDevice(q.at, q.lookbackMs, q.resolution)
      }),

    changes: (input) =>
      wrap('changes', async () => {
        const q = parseReplayChangesQuery(input)
        return changesOf(q.from, q.to, q.resolution)
      }),

    writeDeadLetters: (rejections) =>
      wrap('writeDeadLetters', async () => {
        if (rejections.length === 0) return
        const lines = rejections.map((r) => deadLetterLine(r, (deadLetterSeq = (deadLetterSeq + 1) % 1_000_000)))
        for (let i = 0; i < lines.length; i += maxLines) await http.write(db, lines.slice(i, i + maxLines).join('\n'), 'ns')
      }),

    deadLetters: (input) =>
      wrap('deadLetters', async () => {
        const q = parseDeadLetterQuery(input)
        const where = deadLetterWhere(q)
        // A tombstoned letter cannot be left out by the query (a WHERE on a field a point lacks drops the point): ask
        // for as many more as there are tombstones in the range, and leave them out here.
        const tombs = await query(`SELECT count(${ident(TOMBSTONE_FIELD)}) FROM ${ident(DEAD_LETTER_MEASUREMENT)}${where}`)
        const extra = tombs.reduce((n, s) => n + s.values.reduce((m, row) => m + (typeof row[1] === 'number' ? row[1] : 0), 0), 0)
        const series = await query(`SELECT * FROM ${ident(DEAD_LETTER_MEASUREMENT)}${where} ORDER BY time DESC LIMIT ${q.limit + extra}`)
        return series
          .flatMap((s) => {
            const at = s.columns.indexOf(TOMBSTONE_FIELD)
            return s.values.filter((row) => at < 0 || row[at] === null || row[at] === undefined).map((row) => rejectionFromRow(s.columns, row))
          })
          .slice(0, q.limit)
      }),

    deadLetterCounts: (input) =>
      wrap('deadLetterCounts', async () => {
        const counts: Record<string, number> = {}
        const q = parseDeadLetterCountQuery(input)
        const series = await query(
          `SELECT count("message"), count(${ident(TOMBSTONE_FIELD)}) FROM ${ident(DEAD_LETTER_MEASUREMENT)}${deadLetterWhere(q)} GROUP BY "code"`,
        )
        for (const s of series) {
          const code = s.tags?.['code']
          const n = s.values[0] ? liveCount(s.values[0]) : 0
          if (code !== undefined && n > 0) counts[code] = n
        }
        return counts
      }),

    deadLetterBuckets: (input) =>
      wrap('deadLetterBuckets', async () => {
        const q = parseDeadLetterBucketQuery(input)
        // local days start at midnight UTC+7: epoch-aligned days shifted by -7 h, as history's 1d windows
        const window = q.bucket === 'hour' ? `${HOUR_MS}ms` : `${DAY_MS}ms, -${LOCAL_UTC_OFFSET_MS}ms`
        const series = await query(
          `SELECT count("message"), count(${ident(TOMBSTONE_FIELD)}) FROM ${ident(DEAD_LETTER_MEASUREMENT)}${deadLetterWhere(q)} GROUP BY time(${window}), "code" fill(none)`,
        )
        const out: DeadLetterBucketCount[] = []
        for (const s of series) {
          const code = s.tags?.['code'] as Rejection['code'] | undefined
          if (code === undefined) continue
          for (const row of s.values) {
            const start = row[0]
            const n = liveCount(row)
            if (typeof start === 'number' && n > 0) out.push({ start, code, count: n })
          }
        }
        return out.sort((a, b) => a.start - b.start || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0))
      }),

    deleteDeadLetters: (ids) =>
      wrap('deleteDeadLetters', async () => {
        let n = 0
        for (const id of new Set(ids)) {
          const slot = parseDeadLetterId(id)
          if (!slot) continue
          const where = ` WHERE "code" = ${literal(slot.code)} AND "deviceId" = ${literal(slot.deviceId)} AND time >= ${slot.ms}ms AND time < ${slot.ms + 1}ms`
          // Each letter's exact ns timestamp (RFC 3339 text): a tombstone must land on the letter's own point.
          const found = await http.query(`SELECT "message", ${ident(TOMBSTONE_FIELD)} FROM ${ident(DEAD_LETTER_MEASUREMENT)}${where}`, db, 'rfc3339')
          const live = found.flatMap((s) => {
            const at = s.columns.indexOf(TOMBSTONE_FIELD)
            return s.values.filter((row) => at < 0 || row[at] === null || row[at] === undefined).map((row) => String(row[0]))
          })
          if (live.length === 0) continue
          if (!deleteRefused) {
            try {
              await query(`DELETE FROM ${ident(DEAD_LETTER_MEASUREMENT)}${where}`)
              n++
              continue
            } catch (err) {
              const e = toStorageError(err, 'deleteDeadLetters')
              // A server that is down is retried; one that will not DELETE (2.x/3.x: 501 or a statement error) never will.
              if (e.retryable && !/HTTP 501/.test(e.message)) throw e
              deleteRefused = true
              opts.logger?.info(`InfluxDB ${db}: the server does not DELETE over the v1 API; re-driven dead letters are marked with a tombstone`, {
                database: db,
                err: redact(e.message),
              })
            }
          }
          const lines = live.map((t) => `${DEAD_LETTER_MEASUREMENT},code=${slot.code},deviceId=${slot.deviceId} ${TOMBSTONE_FIELD}=${now()}i ${rfc3339Ns(t)}`)
          await http.write(db, lines.join('\n'), 'ns')
          n++
        }
        return n
      }),

    async close() {
      rollups.stop()
      framesWork.stop()
      frames = undefined
      job = undefined
      http.close()
    },
  }

  /**
   * A job's work, one run at a time, and its timer: `every` ms (0: never) runs it, and a failing stretch is logged
   * once when it starts and once when it ends.
   */
  function backgroundWork() {
    let chain: Promise<void> = Promise.resolve()
    let timer: NodeJS.Timeout | undefined
    let failing = false
    const serial = (fn: () => Promise<void>): Promise<void> => {
      const next = chain.then(fn)
      chain = next.catch(() => undefined)
      return next
    }
    return {
      serial,
      every(ms: number, run: () => Promise<void> | undefined, say: { failed: string; recovered: string }): void {
        if (ms <= 0 || timer) return
        timer = setInterval(() => {
          void serial(async () => {
            await run()
          }).then(
            () => {
              if (failing) opts.logger?.info(`InfluxDB ${db}: ${say.recovered}`, { database: db })
              failing = false
            },
            (err: unknown) => {
              if (!failing && timer) opts.logger?.warn(`InfluxDB ${db}: ${say.failed}`, { database: db, err: redact(String((err as Error)?.message ?? err)) })
              failing = true
            },
          )
        }, ms).unref()
      },
      stop(): void {
        clearInterval(timer)
        timer = undefined
      },
    }
  }

  /** One SELECT over every kind's measurement: raw in the default policy, buckets in rp_5m (written at their start). */
  async function stateByDevice(at: number, lookbackMs: number, resolution: ReplayResolution): Promise<ReplayPoint[]> {
    const series = await query(
      `SELECT * FROM ${replayMeasurements(resolution)} WHERE time <= ${at}ms AND time > ${at - lookbackMs}ms GROUP BY "deviceId" ORDER BY time DESC LIMIT 1`,
    )
    // A device that changed kind has a newest point in two measurements; keep the newer.
    const newest = new Map<string, ReplayPoint>()
    for (const p of replayPoints(series, resolution)) {
      const seen = newest.get(p.deviceId)
      if (!seen || p.ts > seen.ts) newest.set(p.deviceId, p)
    }
    return [...newest.values()].sort(byDevice)
  }

  async function changesOf(from: number, to: number, resolution: ReplayResolution): Promise<ReplayPoint[]> {
    const series = await query(`SELECT * FROM ${replayMeasurements(resolution)} WHERE time >= ${from}ms AND time < ${to}ms GROUP BY "deviceId"`)
    return replayPoints(series, resolution).sort((a, b) => a.ts - b.ts || byDevice(a, b))
  }

  /** A writer keeps the replay frames written (influx-replay-frames.ts) as buckets close. */
  function startFrames(): void {
    if (frames) return
    frames = createReplayFrameJob({
      http,
      db,
      now,
      graceMs: opts.rollupGraceMs ?? 120_000,
      maxLinesPerWrite: maxLines,
      readRaw: (from, to) => changesOf(from, to, 'raw'),
      readState: stateByDevice,
      firstRawAt: () => firstRawAt(http, db, defaultRp),
    })
    // A failing run leaves the next to start again from a keyframe boundary.
    framesWork.every(opts.replayFramesEveryMs ?? 60_000, () => frames?.run(undefined, FRAMES_POINTS_PER_RUN), {
      failed: 'writing replay frames failed; will retry',
      recovered: 'replay frames written again',
    })
  }

  /** The writer on a server that refused to set up retention policies and continuous queries. */
  async function withoutAdmin(reason: string): Promise<void> {
    const policies = await readPolicies().catch(() => undefined)
    // Retention: the server's; say where it differs from what was asked.
    const asked = [
      [defaultRp, keepDays.raw],
      [ROLLUP_RP['5m'], keepDays['5m']],
      [ROLLUP_RP['1h'], keepDays['1h']],
    ] as const
    const off = asked
      .filter(([rp]) => rp === defaultRp || policies?.has(rp))
      .filter(([rp, days]) => policies?.get(rp) !== days * DAY_MS)
      .map(([rp, days]) => `${rp}: asked ${daysText(days)}, the server keeps ${policies?.has(rp) ? msText(policies.get(rp)) : 'an unknown time'}`)
    state = { ...state, retention: off.length > 0 ? 'not_set' : 'server' }
    if (off.length > 0)
      warn(
        'retention',
        `retention asked cannot be set by this store (${reason}); ${off.join('; ')}. Set it on the server: InfluxDB 2.x buckets' retention (deploy/influxdb/init.sh), 1.x ALTER RETENTION POLICY as an admin.`,
      )
    else warnings.delete('retention')

    if (policies?.has(ROLLUP_RP['5m']) && policies.has(ROLLUP_RP['1h'])) {
      state = { ...state, rollups: 'computed' }
      warnings.delete('rollups')
      startJob()
      // A restart forgets which buckets were waiting: everything since the last roll-up point is done again.
      const lasts = await Promise.all(GRAINS.map((g) => lastRollupAt(http, db, g).catch(() => undefined)))
      const since = lasts.some((t) => t === undefined) ? await firstRawAt(http, db, defaultRp) : Math.min(...(lasts as number[]))
      if (since !== undefined) job!.touchRange(since, now())
      opts.logger?.info(`InfluxDB ${db}: the server does not take continuous queries; this process computes the 5-minute and hourly roll-ups`, {
        database: db,
      })
    } else {
      state = { ...state, rollups: 'none' }
      warn(
        'rollups',
        `5-minute and hourly roll-ups asked, but the server refused continuous queries (${reason}) and the roll-up retention policies ${ROLLUP_RP['5m']} and ${ROLLUP_RP['1h']} are missing${policies ? '' : ' (or cannot be listed)'}, so they cannot be computed either; history past raw retention${keepDays.raw > 0 ? ` (${keepDays.raw} d)` : ''} reads raw points or nothing. Create them: InfluxDB 2.x buckets mapped to ${ROLLUP_RP['5m']}/${ROLLUP_RP['1h']} (deploy/influxdb/init.sh), 1.x CREATE RETENTION POLICY as an admin.`,
      )
    }
  }

  function startJob(): void {
    if (job) return
    job = createRollupJob({ http, db, rawRp: () => defaultRp, now, graceMs: opts.rollupGraceMs ?? 120_000, maxLinesPerWrite: maxLines })
    // A failing run leaves the touched buckets marked; a later run does them.
    rollups.every(opts.rollupEveryMs ?? 60_000, () => job?.run(), { failed: 'computing roll-ups failed; will retry', recovered: 'roll-ups computed again' })
  }

  /** A reader: are there roll-ups to read? Creates nothing. */
  async function detectRollups(): Promise<void> {
    lastDetect = now()
    let policies: Map<string, number | undefined> | undefined
    try {
      policies = await readPolicies()
    } catch (err) {
      if (toStorageError(err, 'init').retryable) throw toStorageError(err, 'init')
    }
    const have = policies === undefined || (policies.has(ROLLUP_RP['5m']) && policies.has(ROLLUP_RP['1h']))
    const points = have ? await lastRollupAt(http, db, '1h').catch(() => undefined) : undefined
    if (points !== undefined) {
      state = { ...state, rollups: 'read' }
      warnings.delete('rollups')
    } else if (have && policies !== undefined) {
      // Set up, nothing rolled up yet (a fresh install): raw points serve every range until the first bucket closes.
      state = { ...state, rollups: 'pending' }
      warnings.delete('rollups')
    } else {
      state = { ...state, rollups: 'none' }
      warn(
        'rollups',
        `5-minute and hourly roll-ups asked, but the roll-up retention policies ${ROLLUP_RP['5m']} and ${ROLLUP_RP['1h']} are missing${policies ? '' : ' (or cannot be listed)'} and this reader creates nothing; history past raw retention${keepDays.raw > 0 ? ` (${keepDays.raw} d)` : ''} reads raw points or nothing. The ingest computes them once they exist (deploy/influxdb/init.sh creates them on InfluxDB 2.x).`,
      )
    }
  }
}

/** Go duration text as 1.x SHOW RETENTION POLICIES gives it (`24h0m0s`, `0s` = forever), in ms. */
function goDurationMs(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(v)
  if (!m || v === '') return undefined
  return (Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0)) * 1000
}

const daysText = (days: number) => (days > 0 ? `${days} d` : 'forever')
const msText = (ms: number | undefined) => (ms === undefined ? 'an unknown time' : ms === 0 ? 'forever' : `${Math.round((ms / DAY_MS) * 100) / 100} d`)

/** A 1.x password sent as `p=` must not reach a log line through an error text that quotes a URL. */
const redact = (text: string) => text.replace(/([?&]p=)[^&\s]+/g, '$1***')

/** The WHERE of the dead-letter filters given ('' when none). */
function deadLetterWhere(q: DeadLetterCountFilter & { code?: string | undefined }): string {
  const where: string[] = []
  if (q.deviceId !== undefined)
    where.push(isStorableDeviceId(q.deviceId) ? `"deviceId" = ${literal(q.deviceId)}` : `"deviceIdText" = ${literal(encodeText(q.deviceId))}`)
  if (q.code !== undefined) where.push(`"code" = ${literal(q.code)}`)
  if (q.from !== undefined) where.push(`time >= ${q.from}ms`)
  if (q.to !== undefined) where.push(`time < ${q.to}ms`)
  return where.length ? ` WHERE ${where.join(' AND ')}` : ''
}

/*
 * A dead letter's id here: its receive ms, reason and device tag. Its ns timestamp (which two letters of one ms differ
 * by) is not read back (queries answer in ms), so the id names the slot; DELETE can match tags and time only.
 * Letters without a device tag (an id outside DEVICE_ID_PATTERN, or none) get no id: nothing re-drives them.
 */
const deadLetterId = (ms: number, code: string, deviceId: string): string => `${ms}~${code}~${deviceId}`
function parseDeadLetterId(id: string): { ms: number; code: string; deviceId: string } | undefined {
  const m = /^(\d{1,16})~([a-z_]{1,40})~(.+)$/.exec(id)
  if (!m || !isStorableDeviceId(m[3]!)) return undefined
  return { ms: Number(m[1]), code: m[2]!, deviceId: m[3]! }
}

/*
 * A re-driven letter where the server will not DELETE (2.x/3.x over the v1 API): its own point gets this field (the
 * ms it was re-driven), written at the same series and ns timestamp, so the point is updated, not added. Lists leave
 * such letters out and counts subtract them, on every server, so a reader sees what the writer removed.
 */
const TOMBSTONE_FIELD = 'redrivenAt'

/** A `count("message"), count(tombstone)` row: the letters still dead. */
function liveCount(row: unknown[]): number {
  const all = typeof row[1] === 'number' ? row[1] : 0
  const gone = typeof row[2] === 'number' ? row[2] : 0
  return Math.max(0, all - gone)
}

/** RFC 3339 as InfluxDB writes it (up to 9 fraction digits, trailing zeros cut) → ns since the epoch, exactly. */
function rfc3339Ns(text: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(text)
  if (!m) throw new StorageError(`influx answered a time ${JSON.stringify(text)} that is not RFC 3339`, { retryable: false })
  return String(BigInt(Date.parse(`${m[1]}Z`)) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0')))
}

/** `"deviceId" = 'a' OR "deviceId" = 'b' …` — ids are registry-pattern strings, quoted as literals all the same. */
function deviceFilter(ids: readonly string[]): string {
  return ids.map((id) => `"deviceId" = ${literal(id)}`).join(' OR ')
}

/** Columns of a reading point that are not metrics. */
const READING_META = new Set(['time', 'deviceId', 'kind', 'ward', 'tsSource', 'receivedAt', 'seq'])

/**
 * Rebuilds a reading from `SELECT *` (deviceId is the GROUP BY tag; kind and ward come back as columns).
 * A row without our own columns was not written by this adapter and is skipped.
 */
function readingFromSeries(s: InfluxSeries): StoredReading | undefined {
  const row = s.values[0]
  const deviceId = s.tags?.['deviceId']
  if (!row || !deviceId) return undefined
  const col = (name: string): unknown => {
    const i = s.columns.indexOf(name)
    return i < 0 ? undefined : row[i]
  }
  const [ts, ward, tsSource, receivedAt, kind, seq] = [col('time'), col('ward'), col('tsSource'), col('receivedAt'), col('kind'), col('seq')]
  if (typeof ts !== 'number' || typeof ward !== 'string' || typeof tsSource !== 'string' || typeof receivedAt !== 'number') return undefined
  const fields: Record<string, number> = {}
  s.columns.forEach((name, i) => {
    const v = row[i]
    if (!READING_META.has(name) && typeof v === 'number') fields[name] = v
  })
  const r: StoredReading = {
    deviceId,
    kind: (typeof kind === 'string' && kind !== '' ? kind : s.name) as StoredReading['kind'],
    ward: ward as StoredReading['ward'],
    ts,
    tsSource: decodeText(tsSource) as StoredReading['tsSource'],
    receivedAt,
    fields,
  }
  if (typeof seq === 'number') r.seq = seq
  return r
}

const byDevice = (a: { deviceId: string }, b: { deviceId: string }) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0)

/** Roll-up aggregates that are not metrics: the continuous queries' sum(*) also sums these integer and text columns. */
const NOT_ROLLED_METRICS = new Set(['receivedAt', 'seq', 'tsSource'])

/**
 * Replay points of a `SELECT *` grouped by deviceId: raw rows carry the metrics as columns; roll-up rows carry
 * sum_/min_/max_/count_ of each, from which the mean is sum/count.
 */
function replayPoints(series: readonly InfluxSeries[], resolution: ReplayResolution): ReplayPoint[] {
  const out: ReplayPoint[] = []
  for (const s of series) {
    const deviceId = s.tags?.['deviceId']
    const timeAt = s.columns.indexOf('time')
    if (!deviceId || timeAt < 0) continue
    for (const row of s.values) {
      const ts = row[timeAt]
      if (typeof ts !== 'number') continue
      if (resolution === 'raw') {
        const fields: Record<string, number> = {}
        s.columns.forEach((name, i) => {
          const v = row[i]
          if (!READING_META.has(name) && typeof v === 'number') fields[name] = v
        })
        out.push({ deviceId, ts, fields })
        continue
      }
      const agg: Record<'sum' | 'min' | 'max' | 'count', Record<string, number>> = { sum: {}, min: {}, max: {}, count: {} }
      s.columns.forEach((name, i) => {
        const v = row[i]
        const cut = name.indexOf('_')
        const kind = name.slice(0, cut) as keyof typeof agg
        const metric = name.slice(cut + 1)
        if (typeof v === 'number' && cut > 0 && kind in agg && !NOT_ROLLED_METRICS.has(metric)) agg[kind][metric] = v
      })
      const p: ReplayPoint & { min: Record<string, number>; max: Record<string, number> } = { deviceId, ts, fields: {}, min: {}, max: {} }
      for (const [metric, sum] of Object.entries(agg.sum)) {
        const count = agg.count[metric]
        const min = agg.min[metric]
        const max = agg.max[metric]
        if (!count || min === undefined || max === undefined) continue
        p.fields[metric] = sum / count
        p.min[metric] = min
        p.max[metric] = max
      }
      if (Object.keys(p.fields).length > 0) out.push(p)
    }
  }
  return out
}

function rawPoint(row: unknown[]): HistoryPoint | undefined {
  const [ts, v] = row
  return typeof ts === 'number' && typeof v === 'number' ? { ts, mean: v, min: v, max: v, count: 1 } : undefined
}

function windowPoint(row: unknown[]): HistoryPoint | undefined {
  const [ts, mean, min, max, count] = row
  return typeof ts === 'number' && typeof mean === 'number' && typeof min === 'number' && typeof max === 'number' && typeof count === 'number'
    ? { ts, mean, min, max, count }
    : undefined
}

/** A window over roll-up buckets: [ts, sum of sums, min, max, sum of counts]; the mean is exact as sum/count. */
function rollupPoint(row: unknown[]): HistoryPoint | undefined {
  const [ts, sum, min, max, count] = row
  return typeof ts === 'number' && typeof sum === 'number' && typeof min === 'number' && typeof max === 'number' && typeof count === 'number' && count > 0
    ? { ts, mean: sum / count, min, max, count }
    : undefined
}

/**
 * Adds points into a device's series, kept sorted by ts. Usually there is one series per device; a device
 * that changed kind has one per measurement, and windows at the same ts are then combined.
 */
function mergePoints(into: HistoryPoint[], add: HistoryPoint[]): void {
  if (into.length === 0) {
    into.push(...add)
    return
  }
  const byTs = new Map(into.map((p) => [p.ts, p]))
  for (const p of add) {
    const q = byTs.get(p.ts)
    if (!q) byTs.set(p.ts, p)
    else {
      const count = q.count + p.count
      byTs.set(p.ts, { ts: p.ts, mean: (q.mean * q.count + p.mean * p.count) / count, min: Math.min(q.min, p.min), max: Math.max(q.max, p.max), count })
    }
  }
  into.splice(0, into.length, ...[...byTs.values()].sort((a, b) => a.ts - b.ts))
}

function rejectionFromRow(columns: string[], row: unknown[]): Rejection {
  const col = (name: string): unknown => {
    const i = columns.indexOf(name)
    return i < 0 ? undefined : row[i]
  }
  const text = (name: string): string | undefined => {
    const v = col(name)
    return typeof v === 'string' ? decodeText(v) : undefined
  }
  const r: Rejection = {
    code: col('code') as Rejection['code'],
    message: text('message') ?? '',
    raw: text('raw') ?? '',
    rawBytes: (col('rawBytes') as number | null) ?? 0,
    topic: text('topic') ?? '',
    receivedAt: col('time') as number,
  }
  const issues = text('issues')
  if (issues !== undefined) r.issues = JSON.parse(issues) as unknown[]
  const tag = col('deviceId') as string | null
  const deviceId = tag ?? text('deviceIdText')
  if (typeof deviceId === 'string' && deviceId !== '') r.deviceId = deviceId
  if (typeof tag === 'string' && tag !== '') return { id: deadLetterId(r.receivedAt, r.code, tag), ...r }
  return r
}
