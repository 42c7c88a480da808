import { REPLAY_MAX_AGE_MS } from '@mytho/schema'
import type { InfluxHttp, InfluxSeries } from './influx-http.ts'
import { ident } from './line-protocol.ts'
import type { ReplayPoint, ReplayResolution } from './port.ts'
import { FIVE_MIN_MS, HOUR_MS, bucketStart } from './retention.ts'

/*
 * Replay frames (issue #21): the state of the whole city at any instant from InfluxDB in two small queries.
 *
 * InfluxDB opens a cursor per series and field for any SELECT over a measurement, whatever its time range, so "each
 * device's newest point before t" over 5,000 devices costs 200–600 ms however it is asked (BENCHMARKS.md). The frames
 * hold the same answer in two single-series measurements, written by the writing process:
 *   - `replay_key`, at least every 6 hours (below): each device's newest raw reading before the key's time K and its
 *     newest 5-minute bucket starting before K (both within replay's 30 days);
 *   - `replay_bucket`, every 5-minute bucket B once closed: each device's readings in [B, B + 5 min), or an empty
 *     digest; their aggregate is computed by the reader as the roll-ups compute it (sum/count in time order, min, max).
 * The state at t is then the newest keyframe at or before t's bucket folded with the digests up to t's bucket, which
 * is the same answer the per-device query gives (contract-tested against it). A frame that is missing or was only
 * partly written answers undefined, and the caller asks the per-device query instead.
 *
 * Each frame is points of JSON text (one per ~2 KB), at the frame's time plus i ns, with the build's stamp
 * `b` and its point count `n`: a reader takes the newest complete build, so two writers or a rebuild that wrote fewer
 * points never mix. Frames live in the raw readings' retention policy and expire with them.
 */

export const KEY_MEASUREMENT = 'replay_key'
export const BUCKET_MEASUREMENT = 'replay_bucket'

/** A reading as a frame keeps it: its time and fields. */
type Raw = [ts: number, fields: Record<string, number>]
/**
 * A 5-minute bucket as a frame keeps it: its start, each metric's mean, min and max; min and max left out when each
 * equals the mean (a device that reported once in the bucket: most devices, most buckets).
 */
type Agg = [start: number, mean: Record<string, number>, min?: Record<string, number>, max?: Record<string, number>]
/** A device in a keyframe: its newest reading and bucket before the frame's time. */
type Known = [id: string, p: Raw | null, a: Agg | null]
/** A Known as stored: `a` is 0 when it is the bucket of `p` alone (its mean is p's fields), which most often it is. */
type StoredKnown = [id: string, p: Raw | null, a: Agg | null | 0]
/** A device in a bucket digest: its readings in the bucket, oldest first, and their aggregate. */
type Digest = [id: string, r: Raw[], a: Agg]
/** A Digest as stored: the aggregate is computed again from the readings by whoever reads it. */
type StoredDigest = [id: string, r: Raw[]]

function sameFields(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k])
}
const storedKnown = ([id, p, a]: Known): StoredKnown => [
  id,
  p,
  a && p && a.length === 2 && a[0] === bucketStart(p[0], FIVE_MIN_MS) && sameFields(a[1], p[1]) ? 0 : a,
]
const knownFrom = ([id, p, a]: StoredKnown): Known => [id, p, a === 0 ? (p ? [bucketStart(p[0], FIVE_MIN_MS), p[1]] : null) : a]
const storedDigest = ([id, r]: Digest): StoredDigest => [id, r]
const digestFrom = (start: number, [id, r]: StoredDigest): Digest => [id, r, aggregate(start, r)]

/**
 * Characters of JSON per point. Small: InfluxDB decodes a whole block of up to 1,000 points to read one, and a
 * /write body is capped (25 MB by default).
 */
const POINT_CHARS = 2_000
/** Bytes of line protocol per /write. */
const WRITE_BYTES = 4_000_000
/** A keyframe is written at least this often (UTC-aligned), so a jump looks back at most this far for one. */
const KEY_EVERY_MS = 6 * HOUR_MS
/** The most raw time one SELECT of the sweep covers; less where the readings are dense (SWEEP_POINTS). */
const SWEEP_SPAN_MS = 6 * HOUR_MS
/**
 * About how many raw points one SELECT of the sweep reads. The ingest runs in the broker's process, whose event loop
 * parses the answer: 20,000 points of one kind are ~1.8 MB of JSON and ~30 ms to parse into points here, so 10,000
 * keep the stall near 15 ms, once per answer.
 */
const SWEEP_POINTS = 10_000

/** The roll-ups' aggregate of one device's readings in a bucket (they must agree to the last bit). */
function aggregate(start: number, readings: readonly Raw[]): Agg {
  const sum: Record<string, number> = {}
  const count: Record<string, number> = {}
  const min: Record<string, number> = {}
  const max: Record<string, number> = {}
  for (const [, fields] of readings)
    for (const k in fields) {
      const v = fields[k]!
      if (sum[k] === undefined) {
        sum[k] = v
        count[k] = 1
        min[k] = v
        max[k] = v
      } else {
        sum[k] += v
        count[k]!++
        if (v < min[k]!) min[k] = v
        if (v > max[k]!) max[k] = v
      }
    }
  const mean: Record<string, number> = {}
  let spread = false
  for (const k in sum) {
    mean[k] = sum[k]! / count[k]!
    if (min[k] !== mean[k] || max[k] !== mean[k]) spread = true
  }
  return spread ? [start, mean, min, max] : [start, mean]
}

/** Digests of each 5-minute bucket of [from, to), from raw points sorted oldest first. */
function digestsOf(points: readonly ReplayPoint[], from: number, to: number): Map<number, Digest[]> {
  const byBucket = new Map<number, Map<string, Raw[]>>()
  for (let b = from; b < to; b += FIVE_MIN_MS) byBucket.set(b, new Map())
  for (const p of points) {
    const devices = byBucket.get(bucketStart(p.ts, FIVE_MIN_MS))
    if (!devices) continue
    let r = devices.get(p.deviceId)
    if (!r) devices.set(p.deviceId, (r = []))
    r.push([p.ts, p.fields])
  }
  const out = new Map<number, Digest[]>()
  for (const [b, devices] of byBucket)
    out.set(
      b,
      [...devices].sort(([a], [c]) => (a < c ? -1 : a > c ? 1 : 0)).map(([id, r]): Digest => [id, r, aggregate(b, r)]),
    )
  return out
}

/** The keyframe at `at` (a bucket's end) from the one before it and the digests between, oldest first. */
function nextKey(key: Map<string, Known>, digests: readonly Digest[][], at: number): Map<string, Known> {
  const next = new Map<string, Known>()
  for (const [id, k] of key) next.set(id, [id, k[1], k[2]])
  for (const digest of digests)
    for (const [id, r, a] of digest) {
      const k = next.get(id) ?? [id, null, null]
      k[1] = r[r.length - 1] ?? k[1]
      k[2] = a
      next.set(id, k)
    }
  const oldest = at - REPLAY_MAX_AGE_MS
  for (const [id, k] of next) {
    if (k[1] && k[1][0] < oldest) k[1] = null
    if (k[2] && k[2][0] < oldest) k[2] = null
    if (!k[1] && !k[2]) next.delete(id)
  }
  return next
}

const quoted = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`

/** One frame as line protocol: its items as JSON arrays of about POINT_CHARS, at `at` ms + i ns. */
export function frameLines(measurement: string, at: number, items: readonly unknown[], build: number): string[] {
  const chunks: string[] = []
  let part: string[] = []
  let size = 0
  for (const item of items) {
    const json = JSON.stringify(item)
    if (size + json.length > POINT_CHARS && part.length > 0) {
      chunks.push(`[${part.join(',')}]`)
      part = []
      size = 0
    }
    part.push(json)
    size += json.length + 1
  }
  if (part.length > 0 || chunks.length === 0) chunks.push(`[${part.join(',')}]`)
  return chunks.map((c, i) => `${measurement} b=${build}i,n=${chunks.length}i,v=${quoted(c)} ${at}${String(i).padStart(6, '0')}`)
}

/** The frames of an answer, by measurement and time, each the items of its newest complete build (incomplete: left out). */
function readFrames(series: readonly InfluxSeries[]): Map<string, unknown[]> {
  const builds = new Map<string, Map<number, { n: number; parts: string[] }>>()
  for (const s of series) {
    const [t, b, n, v] = ['time', 'b', 'n', 'v'].map((c) => s.columns.indexOf(c)) as [number, number, number, number]
    for (const row of s.values) {
      const time = row[t]
      const build = row[b]
      const count = row[n]
      const text = row[v]
      if (typeof time !== 'number' || typeof build !== 'number' || typeof count !== 'number' || typeof text !== 'string') continue
      const key = `${s.name}@${time}`
      let byBuild = builds.get(key)
      if (!byBuild) builds.set(key, (byBuild = new Map()))
      let one = byBuild.get(build)
      if (!one) byBuild.set(build, (one = { n: count, parts: [] }))
      one.parts.push(text)
    }
  }
  const out = new Map<string, unknown[]>()
  for (const [key, byBuild] of builds) {
    const newest = byBuild.get(Math.max(...byBuild.keys()))!
    if (newest.parts.length === newest.n)
      out.set(
        key,
        newest.parts.flatMap((p) => JSON.parse(p) as unknown[]),
      )
  }
  return out
}

// Frames are written and read in the database's default policy (the raw readings'), whatever a 2.x mapping names it.
const frameQuery = (from: number, to: number, measurements = [KEY_MEASUREMENT, BUCKET_MEASUREMENT]) =>
  `SELECT "b","n","v" FROM ${measurements.map(ident).join(',')} WHERE time >= ${from}ms AND time < ${to}ms`

const byId = (a: ReplayPoint, b: ReplayPoint) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0)

/**
 * The state at `at` from the frames (ReadingStore.stateAt's answer), or undefined when the frames that answer it are not
 * all there (the caller then asks the per-device query). Two small queries: which keyframe, then it and the digests.
 */
export async function stateFromFrames(
  http: InfluxHttp,
  db: string,
  q: { at: number; lookbackMs: number; resolution: ReplayResolution },
): Promise<ReplayPoint[] | undefined> {
  if (q.lookbackMs > REPLAY_MAX_AGE_MS) return undefined
  const bucket = bucketStart(q.at, FIVE_MIN_MS)
  // Keyframes are at least KEY_EVERY_MS apart: the newest at or before t's bucket is within that before it.
  const newest = await http.query(
    `SELECT "n" FROM ${ident(KEY_MEASUREMENT)} WHERE time > ${bucket - KEY_EVERY_MS - 1}ms AND time < ${bucket + 1}ms ORDER BY time DESC LIMIT 1`,
    db,
  )
  const keyAt = newest[0]?.values[0]?.[0]
  if (typeof keyAt !== 'number') return undefined
  const frames = readFrames(await http.query(frameQuery(keyAt, bucket + 1), db))
  const stored = frames.get(`${KEY_MEASUREMENT}@${keyAt}`) as StoredKnown[] | undefined
  if (!stored) return undefined
  const key = stored.map(knownFrom)
  const digests: StoredDigest[][] = []
  for (let b = keyAt; b <= bucket; b += FIVE_MIN_MS) {
    const d = frames.get(`${BUCKET_MEASUREMENT}@${b}`)
    if (!d) return undefined
    digests.push(d as StoredDigest[])
  }
  const since = q.at - q.lookbackMs
  const out: ReplayPoint[] = []
  if (q.resolution === 'raw') {
    const newest = new Map<string, Raw>()
    for (const [id, p] of key) if (p) newest.set(id, p)
    for (const digest of digests)
      for (const [id, r] of digest)
        for (let i = r.length - 1; i >= 0; i--)
          if (r[i]![0] <= q.at) {
            newest.set(id, r[i]!)
            break
          }
    for (const [deviceId, [ts, fields]] of newest) if (ts > since) out.push({ deviceId, ts, fields })
  } else {
    const newest = new Map<string, Agg>()
    for (const [id, , a] of key) if (a) newest.set(id, a)
    digests.forEach((digest, i) => {
      for (const d of digest) newest.set(d[0], digestFrom(keyAt + i * FIVE_MIN_MS, d)[2])
    })
    for (const [deviceId, [ts, fields, min, max]] of newest)
      if (ts > since) out.push({ deviceId, ts, fields, min: min ?? { ...fields }, max: max ?? { ...fields } })
  }
  return out.sort(byId)
}

export interface ReplayFrameJobOptions {
  http: InfluxHttp
  db: string
  now: () => number
  /** How long after a bucket ends its digest is first written, so readings a little late are in it. */
  graceMs: number
  maxLinesPerWrite: number
  /** Every raw point of [from, to), oldest first (what changes() answers, without its window limit). */
  readRaw(from: number, to: number): Promise<ReplayPoint[]>
  /** The per-device state query (stateAt without frames): where a keyframe cannot be built from the one before. */
  readState(at: number, lookbackMs: number, resolution: ReplayResolution): Promise<ReplayPoint[]>
  /** Time of the oldest raw reading (undefined: none). */
  firstRawAt(): Promise<number | undefined>
}

/**
 * Keeps the frames written: sweeps forward from where it stopped as buckets close, and again from the keyframe before a
 * reading written behind the sweep (a late reading, a spool drain, a backfill), since every frame after it may change.
 * Keyframes are written every KEY_EVERY_MS, and at a bucket's end whenever the digests since the last one hold as many
 * devices as it does (a city whose devices report every minute gets one every 5 minutes; hourly ones, one an hour), so a
 * jump never reads more than about two keyframes' worth.
 */
export function createReplayFrameJob(o: ReplayFrameJobOptions) {
  /** Every bucket before it has its digest; `key` is the newest keyframe before it, `pending` the digests since. */
  let cursor: number | undefined
  let key = new Map<string, Known>()
  let pending: Digest[][] = []
  /** How far the sweep has read: a write before it may have been missed. */
  let reach: number | undefined
  /** The keyframe boundary before the earliest reading written behind the sweep. */
  let rewind: number | undefined
  /** A sweep failed part-way: the next starts again from a keyframe boundary. */
  let broken = false
  let build = 0
  let span = SWEEP_SPAN_MS
  const stamp = () => (build = Math.max(build + 1, o.now()))

  async function write(lines: string[]): Promise<void> {
    let from = 0
    let bytes = 0
    for (let i = 0; i <= lines.length; i++) {
      if (i === lines.length || (i > from && (bytes + lines[i]!.length > WRITE_BYTES || i - from >= o.maxLinesPerWrite))) {
        if (i > from) await o.http.write(o.db, lines.slice(from, i).join('\n'), 'ns')
        from = i
        bytes = 0
      }
      if (i < lines.length) bytes += lines[i]!.length + 1
    }
  }

  const keyTimes = async (from: number, to: number): Promise<Set<number>> =>
    new Set(
      (await o.http.query(`SELECT "n" FROM ${ident(KEY_MEASUREMENT)} WHERE time >= ${from}ms AND time < ${to}ms`, o.db)).flatMap((s) =>
        s.values.map((v) => v[0]).filter((t): t is number => typeof t === 'number'),
      ),
    )

  /** The keyframe at `at` (a KEY_EVERY_MS boundary) as written, or built from the per-device query (and written) if it is not all there. */
  async function keyAt(at: number): Promise<Map<string, Known>> {
    const found = readFrames(await o.http.query(frameQuery(at, at + 1, [KEY_MEASUREMENT]), o.db)).get(`${KEY_MEASUREMENT}@${at}`)
    if (found) return new Map((found as StoredKnown[]).map((k) => [k[0], knownFrom(k)]))
    const [raw, fives] = await Promise.all([o.readState(at - 1, REPLAY_MAX_AGE_MS, 'raw'), o.readState(at - 1, REPLAY_MAX_AGE_MS, '5m')])
    const built = new Map<string, Known>()
    for (const p of raw) built.set(p.deviceId, [p.deviceId, [p.ts, p.fields], null])
    for (const p of fives) {
      const k = built.get(p.deviceId) ?? [p.deviceId, null, null]
      k[2] = p.min && p.max ? [p.ts, p.fields, p.min, p.max] : [p.ts, p.fields]
      built.set(p.deviceId, k)
    }
    await write(frameLines(KEY_MEASUREMENT, at, [...built.values()].map(storedKnown), stamp()))
    return built
  }

  /** Where a process that has not swept yet starts: the newest keyframe's 6 hours, else the oldest reading replay reaches. */
  async function firstStart(): Promise<number> {
    const oldest = bucketStart(o.now() - REPLAY_MAX_AGE_MS, KEY_EVERY_MS)
    const last = await o.http.query(`SELECT "n" FROM ${ident(KEY_MEASUREMENT)} WHERE time >= ${oldest}ms ORDER BY time DESC LIMIT 1`, o.db)
    const t = last[0]?.values[0]?.[0]
    if (typeof t === 'number') return bucketStart(t, KEY_EVERY_MS)
    const first = await o.firstRawAt()
    return Math.max(oldest, bucketStart(first ?? o.now(), KEY_EVERY_MS))
  }

  return {
    /** Remembers the keyframe before the earliest of these reading times behind the sweep; call after their write. */
    touch(times: Iterable<number>): void {
      let earliest = Infinity
      for (const ts of times) if (ts < earliest) earliest = ts
      const behind = reach ?? cursor
      // Before the first sweep (a restart draining its spool), any time may lie behind where that sweep starts.
      if (behind === undefined || earliest < behind) rewind = Math.min(rewind ?? Infinity, bucketStart(earliest, KEY_EVERY_MS))
    },

    /** Sweeps again from `from` (ReadingStore.rollUp: readings written behind this process's back). */
    touchRange(from: number): void {
      const behind = reach ?? cursor
      if (behind !== undefined && from < behind) rewind = Math.min(rewind ?? Infinity, bucketStart(from, KEY_EVERY_MS))
    },

    /**
     * Writes the frames of every bucket closed for at least the grace (up to `upTo` if given), from where it stopped;
     * stops early once it has read `budget` raw points (a timer's run, so a backfill of weeks goes a slice a minute).
     */
    async run(upTo?: number, budget = Infinity): Promise<void> {
      const end = bucketStart(upTo ?? o.now() - o.graceMs, FIVE_MIN_MS)
      const again = rewind
      rewind = undefined
      let start: number | undefined
      if (cursor === undefined) start = await firstStart()
      else if (broken) start = bucketStart(cursor, KEY_EVERY_MS)
      if (again !== undefined && again < (start ?? cursor!)) start = Math.max(again, bucketStart(o.now() - REPLAY_MAX_AGE_MS, KEY_EVERY_MS))
      // A sweep over frames written before puts a keyframe wherever one was, so none is left from the older build.
      const keepKeys = start !== undefined ? await keyTimes(start, end + 1) : new Set<number>()
      try {
        if (start !== undefined) {
          reach = start
          key = await keyAt(start)
          pending = []
          cursor = start
        }
        broken = false
        let read = 0
        while (cursor! < end && read < budget) {
          const from = cursor!
          const to = Math.min(end, from + span)
          reach = to
          const points = await o.readRaw(from, to)
          read += points.length
          // The next span aims at SWEEP_POINTS from this one's density, in whole buckets.
          span = Math.min(SWEEP_SPAN_MS, Math.max(FIVE_MIN_MS, bucketStart(((to - from) * SWEEP_POINTS) / Math.max(points.length, 1), FIVE_MIN_MS)))
          const digests = digestsOf(points, from, to)
          const lines: string[] = []
          for (const [b, digest] of digests) {
            lines.push(...frameLines(BUCKET_MEASUREMENT, b, digest.map(storedDigest), stamp()))
            pending.push(digest)
            const t = b + FIVE_MIN_MS
            if (t % KEY_EVERY_MS === 0 || keepKeys.has(t) || pending.reduce((n, d) => n + d.length, 0) >= Math.max(key.size, 1)) {
              key = nextKey(key, pending, t)
              pending = []
              lines.push(...frameLines(KEY_MEASUREMENT, t, [...key.values()].map(storedKnown), stamp()))
            }
          }
          await write(lines)
          cursor = to
        }
      } catch (err) {
        // `key` may be ahead of `cursor` now: the next run starts again from a keyframe as written.
        broken = true
        throw err
      } finally {
        reach = undefined
      }
    },

    /** Where the sweep stands (tests, status): every bucket before it has its frames. */
    cursor: (): number | undefined => cursor,
  }
}
export type ReplayFrameJob = ReturnType<typeof createReplayFrameJob>
