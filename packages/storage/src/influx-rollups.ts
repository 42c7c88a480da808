import { escape as lineEscape } from '@influxdata/influxdb-client'
import { deviceKinds } from '@mytho/schema'
import type { InfluxHttp, InfluxSeries } from './influx-http.ts'
import { ident } from './line-protocol.ts'
import { FIVE_MIN_MS, HOUR_MS, bucketStart } from './retention.ts'

/*
 * Roll-ups computed by the writing process, for servers that refuse continuous queries (InfluxDB 2.x/3.x serve the
 * v1 /query without CREATE CONTINUOUS QUERY; a 1.x user without admin rights). The store tells the job which times
 * its writes touched (late readings and spool drains included, as they go through the same write); once a bucket
 * is closed, plus a grace for stragglers, the job reads its aggregate with an ordinary SELECT and writes it as line
 * protocol into rp_5m / rp_1h with the continuous queries' field names, so history() reads either the same way.
 * A bucket touched again after it was rolled up is computed again from all its raw points: the new point replaces
 * the old (same series and timestamp), so a late reading is counted once.
 */

export type Grain = '5m' | '1h'
export const GRAINS: readonly Grain[] = ['5m', '1h']
/** Retention policies of the roll-ups; the raw readings stay in the database's default policy (autogen). */
export const ROLLUP_RP = { '5m': 'rp_5m', '1h': 'rp_1h' } as const
const WIDTH: Record<Grain, number> = { '5m': FIVE_MIN_MS, '1h': HOUR_MS }
/** Widest range one SELECT covers, so a catch-up over weeks is many small answers rather than one huge one. */
const MAX_SPAN: Record<Grain, number> = { '5m': 6 * HOUR_MS, '1h': 48 * HOUR_MS }

const KIND_PATTERN = `/^(${deviceKinds.join('|')})$/`

/**
 * The roll-up aggregate of the raw readings: sum/min/max/count of every field per bucket and series (GROUP BY *
 * keeps deviceId, kind and ward). `into` makes it the continuous query's body; without it, the job's SELECT.
 * sum and count (not mean) are kept so a window over several buckets has the exact mean.
 */
export function rollupSelect(db: string, rawRp: string, grain: Grain, opts: { into?: boolean; from?: number; to?: number } = {}): string {
  return (
    `SELECT sum(*), min(*), max(*), count(*)${opts.into ? ` INTO ${ident(db)}.${ident(ROLLUP_RP[grain])}.:MEASUREMENT` : ''}` +
    ` FROM ${ident(db)}.${ident(rawRp)}.${KIND_PATTERN}` +
    (opts.from !== undefined && opts.to !== undefined ? ` WHERE time >= ${opts.from}ms AND time < ${opts.to}ms` : '') +
    ` GROUP BY time(${grain}), *${opts.into ? '' : ' fill(none)'}`
  )
}

/** Aggregates of these fields are left out: receivedAt and seq are integers (their sums mean nothing), tsSource text. */
const NOT_METRICS = new Set(['receivedAt', 'seq', 'tsSource'])

/**
 * The job's SELECT answer as roll-up points. Metric aggregates are floats and counts integers, the types the continuous
 * queries write, so either path can later write into the same shard without a field type conflict.
 */
export function rollupLines(series: readonly InfluxSeries[]): string[] {
  const lines: string[] = []
  for (const s of series) {
    const tags = Object.entries(s.tags ?? {})
      .filter(([, v]) => v !== '')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `,${lineEscape.tag(k)}=${lineEscape.tag(v)}`)
      .join('')
    const key = `${lineEscape.measurement(s.name)}${tags}`
    const timeAt = s.columns.indexOf('time')
    for (const row of s.values) {
      const ts = row[timeAt]
      if (typeof ts !== 'number') continue
      const fields: string[] = []
      s.columns.forEach((col, i) => {
        const v = row[i]
        const cut = col.indexOf('_')
        if (i === timeAt || typeof v !== 'number' || !Number.isFinite(v) || cut < 0 || NOT_METRICS.has(col.slice(cut + 1))) return
        fields.push(`${lineEscape.tag(col)}=${col.startsWith('count_') ? `${Math.trunc(v)}i` : String(v)}`)
      })
      if (fields.length > 0) lines.push(`${key} ${fields.join(',')} ${ts}`)
    }
  }
  return lines
}

export interface RollupJobOptions {
  http: InfluxHttp
  db: string
  /** The raw readings' policy (the database's default). */
  rawRp: () => string
  now: () => number
  /** How long after a bucket ends it is first rolled up, so readings a little late are in it. */
  graceMs: number
  maxLinesPerWrite: number
}

/** Roll-ups computed by this process: which buckets need (re)computing, and computing them. */
export function createRollupJob(opts: RollupJobOptions) {
  const { http, db } = opts
  /** Bucket start → the touch that last marked it; a bucket is cleared only if no write touched it while it was computed. */
  const dirty: Record<Grain, Map<number, number>> = { '5m': new Map(), '1h': new Map() }
  let touches = 0

  function mark(grain: Grain, start: number): void {
    dirty[grain].set(start, ++touches)
  }

  /** Recomputes [from, to) (bucket-aligned) of one grain from the raw points, in spans of at most MAX_SPAN. */
  async function compute(grain: Grain, from: number, to: number): Promise<void> {
    for (let a = from; a < to; a += MAX_SPAN[grain]) {
      const b = Math.min(to, a + MAX_SPAN[grain])
      const lines = rollupLines(await http.query(rollupSelect(db, opts.rawRp(), grain, { from: a, to: b }), db))
      for (let i = 0; i < lines.length; i += opts.maxLinesPerWrite)
        await http.write(db, lines.slice(i, i + opts.maxLinesPerWrite).join('\n'), 'ms', ROLLUP_RP[grain])
    }
  }

  return {
    /** Remembers the buckets of these reading times; call after their write (also a failed one: part may be in). */
    touch(times: Iterable<number>): void {
      for (const ts of times) for (const grain of GRAINS) mark(grain, bucketStart(ts, WIDTH[grain]))
    },

    /** Marks every bucket of [from, to) (a catch-up after a restart). */
    touchRange(from: number, to: number): void {
      for (const grain of GRAINS) for (let b = bucketStart(from, WIDTH[grain]); b < to; b += WIDTH[grain]) mark(grain, b)
    },

    /** Buckets waiting to be rolled up, per grain (tests and status). */
    pending(): Record<Grain, number> {
      return { '5m': dirty['5m'].size, '1h': dirty['1h'].size }
    },

    /** Rolls up every touched bucket closed for at least the grace (all of them when `all`), runs of buckets at a time. */
    async run(all = false): Promise<void> {
      const now = opts.now()
      for (const grain of GRAINS) {
        const w = WIDTH[grain]
        const closed = [...dirty[grain]].filter(([b]) => all || b + w + opts.graceMs <= now).sort(([a], [b]) => a - b)
        let i = 0
        while (i < closed.length) {
          // A run of adjacent buckets is one SELECT.
          let j = i + 1
          while (j < closed.length && closed[j]![0] === closed[j - 1]![0] + w) j++
          await compute(grain, closed[i]![0], closed[j - 1]![0] + w)
          for (const [b, touch] of closed.slice(i, j)) if (dirty[grain].get(b) === touch) dirty[grain].delete(b)
          i = j
        }
      }
    },

    /** Recomputes [from, to), widened to whole hours, now (ReadingStore.rollUp). */
    async rollUp(from: number, to: number): Promise<void> {
      const range = { from: Math.floor(from / HOUR_MS) * HOUR_MS, to: Math.ceil(to / HOUR_MS) * HOUR_MS }
      for (const grain of GRAINS) await compute(grain, range.from, range.to)
    },
  }
}
export type RollupJob = ReturnType<typeof createRollupJob>

/** Time of the newest point in a roll-up policy (undefined: none, or the policy is missing). */
export async function lastRollupAt(http: InfluxHttp, db: string, grain: Grain): Promise<number | undefined> {
  const times = firstTimes(await http.query(`SELECT * FROM ${ident(db)}.${ident(ROLLUP_RP[grain])}.${KIND_PATTERN} ORDER BY time DESC LIMIT 1`, db))
  return times.length > 0 ? Math.max(...times) : undefined
}

/** Time of the oldest raw reading (undefined: none). */
export async function firstRawAt(http: InfluxHttp, db: string, rawRp: string): Promise<number | undefined> {
  const times = firstTimes(await http.query(`SELECT * FROM ${ident(db)}.${ident(rawRp)}.${KIND_PATTERN} ORDER BY time ASC LIMIT 1`, db))
  return times.length > 0 ? Math.min(...times) : undefined
}

/** The time of each series' first row (one per measurement of a LIMIT 1 answer). */
const firstTimes = (series: readonly InfluxSeries[]): number[] =>
  series.map((s) => s.values[0]?.[s.columns.indexOf('time')]).filter((t): t is number => typeof t === 'number')
