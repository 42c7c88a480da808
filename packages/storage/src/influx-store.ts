import type { HistoryPoint, HistorySeries, Rejection, StoredReading } from '@mytho/schema'
import { LOCAL_UTC_OFFSET_MS, deviceKinds, metricsByKind, windowMs } from '@mytho/schema'
import { createInfluxHttp, toStorageError, type InfluxHttpOptions, type InfluxSeries } from './influx-http.ts'
import { DEAD_LETTER_MEASUREMENT, deadLetterLine, decodeText, encodeText, ident, literal, readingLine } from './line-protocol.ts'
import { StorageError, type ReadingStore } from './port.ts'
import { checkReadings, isStorableDeviceId, parseDeadLetterQuery, parseHistoryQuery } from './validate.ts'

export interface InfluxStoreOptions extends InfluxHttpOptions {
  /** Database (1.x), or the bucket mapped through DBRP (2.x/3.x). */
  database: string
  /** Readings per /write request; larger batches are split. Default 5,000 (InfluxDB's recommended batch). */
  maxLinesPerWrite?: number
}

/*
 * The InfluxDB adapter. Schema: one measurement per device kind (`traffic`, `water_level`, …);
 * tags deviceId, kind, ward; metric fields as floats, tsSource string, receivedAt and seq integers;
 * timestamp = ts in ms. Dedup comes from InfluxDB itself: the same measurement + tag set + timestamp
 * is one point, and a second write replaces the field values it carries (last write wins).
 * Durability: /write answers 204 after the WAL is written (fsynced at wal-fsync-delay = 0s, the default).
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
            throw new StorageError(`database ${db} does not exist and this server does not create databases over the v1 API (${e.message}); create a bucket named ${db} (InfluxDB 2.x/3.x maps it to database ${db})`, { cause: err, retryable: false })
        }
      }),

    writeReadings: (readings) =>
      wrap('writeReadings', async () => {
        checkReadings(readings)
        for (let i = 0; i < readings.length; i += maxLines) await http.write(db, readings.slice(i, i + maxLines).map(readingLine).join('\n'), 'ms')
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
          const measurements = (withMetric.length > 0 ? withMetric : deviceKinds).map(ident).join(',')
          const m = ident(q.metric)
          const where = `(${deviceFilter(ids)}) AND time >= ${q.from}ms AND time < ${q.to}ms`
          const text =
            q.window === 'raw'
              ? `SELECT ${m} FROM ${measurements} WHERE ${where} GROUP BY "deviceId"`
              : // 1d windows start at local midnight: epoch-aligned days shifted by -7 h (UTC+7, no DST).
                `SELECT mean(${m}), min(${m}), max(${m}), count(${m}) FROM ${measurements} WHERE ${where} ` +
                `GROUP BY time(${windowMs[q.window]}ms${q.window === '1d' ? `, -${LOCAL_UTC_OFFSET_MS}ms` : ''}), "deviceId" fill(none)`
          for (const s of await query(text)) {
            const id = s.tags?.['deviceId']
            const points = id === undefined ? undefined : byDevice.get(id)
            if (points) mergePoints(points, s.values.map(q.window === 'raw' ? rawPoint : windowPoint).filter((p) => p !== undefined))
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
        const where: string[] = []
        if (q.deviceId !== undefined)
          where.push(isStorableDeviceId(q.deviceId) ? `"deviceId" = ${literal(q.deviceId)}` : `"deviceIdText" = ${literal(encodeText(q.deviceId))}`)
        if (q.code !== undefined) where.push(`"code" = ${literal(q.code)}`)
        if (q.from !== undefined) where.push(`time >= ${q.from}ms`)
        if (q.to !== undefined) where.push(`time < ${q.to}ms`)
        const series = await query(
          `SELECT * FROM ${ident(DEAD_LETTER_MEASUREMENT)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY time DESC LIMIT ${q.limit}`,
        )
        return series.flatMap((s) => s.values.map((row) => rejectionFromRow(s.columns, row)))
      }),

    deadLetterCounts: () =>
      wrap('deadLetterCounts', async () => {
        const counts: Record<string, number> = {}
        for (const s of await query(`SELECT count("message") FROM ${ident(DEAD_LETTER_MEASUREMENT)} GROUP BY "code"`)) {
          const code = s.tags?.['code']
          const n = s.values[0]?.[1]
          if (code !== undefined && typeof n === 'number') counts[code] = n
        }
        return counts
      }),

    async close() {
      http.close()
    },
  }
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
  const deviceId = (col('deviceId') as string | null) ?? text('deviceIdText')
  if (typeof deviceId === 'string' && deviceId !== '') r.deviceId = deviceId
  return r
}
