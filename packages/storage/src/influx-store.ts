import type { DeadLetterBucketCount, HistoryPoint, HistorySeries, Rejection, StoredReading } from '@mytho/schema'
import { LOCAL_UTC_OFFSET_MS, deviceKinds, metricsByKind, windowMs } from '@mytho/schema'
import { createInfluxHttp, toStorageError, type InfluxHttpOptions, type InfluxSeries } from './influx-http.ts'
import { DEAD_LETTER_MEASUREMENT, deadLetterLine, decodeText, encodeText, ident, literal, readingLine } from './line-protocol.ts'
import { StorageError, type ReadingStore } from './port.ts'
import { DAY_MS, FIVE_MIN_MS, HOUR_MS, planHistory, type RetentionOptions } from './retention.ts'
import {
  checkReadings,
  isStorableDeviceId,
  parseDeadLetterBucketQuery,
  parseDeadLetterCountQuery,
  parseDeadLetterQuery,
  parseHistoryQuery,
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
  /** The clock history() measures raw retention against, epoch ms. Default Date.now. */
  now?: () => number
}

/** Retention policies of the roll-ups; the raw readings stay in the database's default policy (autogen). */
const ROLLUP_RP = { '5m': 'rp_5m', '1h': 'rp_1h' } as const

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
 * A server that refuses (2.x/3.x serve the v1 /query read-only; a 1.x user without admin rights) keeps
 * raw-only behaviour: history() then never reads roll-ups, and retention is whatever the server has.
 */
export function createInfluxStore(opts: InfluxStoreOptions): ReadingStore {
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
  const now = opts.now ?? Date.now
  const keepDays = { raw: opts.retention?.rawDays ?? 0, '5m': opts.retention?.fiveMinuteDays ?? 0, '1h': opts.retention?.hourDays ?? 0 }
  /** Set by init() once the retention policies and continuous queries are in place. */
  let rollups = false
  let defaultRp = 'autogen'
  const kindPattern = `/^(${deviceKinds.join('|')})$/`

  /** `SELECT … INTO` for one roll-up over [from, to) (or, without a range, the continuous query's body). */
  const intoQuery = (grain: '5m' | '1h', range?: { from: number; to: number }) =>
    `SELECT sum(*), min(*), max(*), count(*) INTO ${ident(db)}.${ident(ROLLUP_RP[grain])}.:MEASUREMENT FROM ${ident(db)}.${ident(defaultRp)}.${kindPattern}` +
    (range ? ` WHERE time >= ${range.from}ms AND time < ${range.to}ms` : '') +
    ` GROUP BY time(${grain}), *`

  async function setUpRollups(): Promise<void> {
    const policies = await http.query(`SHOW RETENTION POLICIES ON ${ident(db)}`)
    const rows = policies.flatMap((p) => p.values)
    defaultRp = String(rows.find((r) => r[4] === true)?.[0] ?? 'autogen')
    const names = new Set(rows.map((r) => String(r[0])))
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
        .query(`CREATE CONTINUOUS QUERY ${cq} ON ${ident(db)} RESAMPLE FOR ${grain === '5m' ? '1h' : '2h'} BEGIN ${intoQuery(grain)} END`)
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
        try {
          await setUpRollups()
          rollups = true
        } catch (err) {
          // Refused (not admin, or a read-only v1 API): raw-only, as described above. A server that is down is retried.
          const e = toStorageError(err, 'init')
          if (e.retryable) throw e
          rollups = false
        }
      }),

    rollUp: (from, to) =>
      wrap('rollUp', async () => {
        if (!rollups) return
        const range = { from: Math.floor(from / HOUR_MS) * HOUR_MS, to: Math.ceil(to / HOUR_MS) * HOUR_MS }
        for (const grain of ['5m', '1h'] as const) await query(intoQuery(grain, range))
      }),

    writeReadings: (readings) =>
      wrap('writeReadings', async () => {
        checkReadings(readings)
        for (let i = 0; i < readings.length; i += maxLines)
          await http.write(
            db,
            readings
              .slice(i, i + maxLines)
              .map(readingLine)
              .join('\n'),
            'ms',
          )
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
          for (const part of planHistory(q.window, q.from, q.to, now(), rollups ? keepDays.raw : 0)) {
            let text: string
            let toPoint: (row: unknown[]) => HistoryPoint | undefined
            if (part.source === 'raw') {
              const where = `(${deviceFilter(ids)}) AND time >= ${part.from}ms AND time < ${part.to}ms`
              const measurements = kinds.map(ident).join(',')
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

    writeDeadLetters: (rejections) =>
      wrap('writeDeadLetters', async () => {
        if (rejections.length === 0) return
        const lines = rejections.map((r) => deadLetterLine(r, (deadLetterSeq = (deadLetterSeq + 1) % 1_000_000)))
        for (let i = 0; i < lines.length; i += maxLines) await http.write(db, lines.slice(i, i + maxLines).join('\n'), 'ns')
      }),

    deadLetters: (input) =>
      wrap('deadLetters', async () => {
        const q = parseDeadLetterQuery(input)
        const series = await query(`SELECT * FROM ${ident(DEAD_LETTER_MEASUREMENT)}${deadLetterWhere(q)} ORDER BY time DESC LIMIT ${q.limit}`)
        return series.flatMap((s) => s.values.map((row) => rejectionFromRow(s.columns, row)))
      }),

    deadLetterCounts: (input) =>
      wrap('deadLetterCounts', async () => {
        const counts: Record<string, number> = {}
        const q = parseDeadLetterCountQuery(input)
        for (const s of await query(`SELECT count("message") FROM ${ident(DEAD_LETTER_MEASUREMENT)}${deadLetterWhere(q)} GROUP BY "code"`)) {
          const code = s.tags?.['code']
          const n = s.values[0]?.[1]
          if (code !== undefined && typeof n === 'number') counts[code] = n
        }
        return counts
      }),

    deadLetterBuckets: (input) =>
      wrap('deadLetterBuckets', async () => {
        const q = parseDeadLetterBucketQuery(input)
        // local days start at midnight UTC+7: epoch-aligned days shifted by -7 h, as history's 1d windows
        const window = q.bucket === 'hour' ? `${HOUR_MS}ms` : `${DAY_MS}ms, -${LOCAL_UTC_OFFSET_MS}ms`
        const series = await query(
          `SELECT count("message") FROM ${ident(DEAD_LETTER_MEASUREMENT)}${deadLetterWhere(q)} GROUP BY time(${window}), "code" fill(none)`,
        )
        const out: DeadLetterBucketCount[] = []
        for (const s of series) {
          const code = s.tags?.['code'] as Rejection['code'] | undefined
          if (code === undefined) continue
          for (const [start, n] of s.values) if (typeof start === 'number' && typeof n === 'number' && n > 0) out.push({ start, code, count: n })
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
          const found = await query(`SELECT count("message") FROM ${ident(DEAD_LETTER_MEASUREMENT)}${where}`)
          if (!found.some((s) => s.values.some((row) => typeof row[1] === 'number' && row[1] > 0))) continue
          await query(`DELETE FROM ${ident(DEAD_LETTER_MEASUREMENT)}${where}`)
          n++
        }
        return n
      }),

    async close() {
      http.close()
    },
  }
}

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
