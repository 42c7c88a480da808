import {
  DEVICE_ID_PATTERN,
  DeadLetterBucket,
  DeadLetterCountQuery,
  DeadLetterQuery,
  StoredReading as StoredReadingSchema,
  deviceKinds,
  wards,
  HistoryQuery,
  METRIC_NAME_MAX_LENGTH,
  METRIC_NAME_PATTERN,
  REPLAY_MAX_AGE_MS,
  REPLAY_WINDOW_MAX_MS,
  type DeadLetterQuery as DeadLetterQueryInput,
  type HistoryQuery as HistoryQueryType,
  type StoredReading,
} from '@mytho/schema'
import { z } from 'zod'
import { StorageError, type ReplayChangesQuery, type ReplayStateQuery } from './port.ts'

/*
 * Checks both adapters apply before touching the database, so they accept and refuse the same input.
 * A refusal is a StorageInputError (a StorageError with retryable=false): the same call can never succeed,
 * and the caller's input is what is wrong (the API answers it with a 400).
 */

/** Input no adapter can store or answer: refused before the database is asked. Its name stays StorageError. */
export class StorageInputError extends StorageError {
  constructor(message: string, cause?: unknown) {
    super(message, { retryable: false, cause })
  }
}

/** Column names a reading's own keys use in InfluxDB; a field with one of these names would collide. */
const RESERVED_FIELD_NAMES = new Set(['time', 'deviceId', 'kind', 'ward', 'tsSource', 'receivedAt', 'seq'])

const kinds = new Set<string>(deviceKinds)
const wardSet = new Set<string>(wards)
const tsSources = new Set<string>(StoredReadingSchema.shape.tsSource.options)

const refuse = (message: string, cause?: unknown): never => {
  throw new StorageInputError(message, cause)
}

/**
 * Metric and field names: METRIC_NAME_PATTERN of @mytho/schema, an ASCII identifier of at most
 * METRIC_NAME_MAX_LENGTH characters, the one the API's MetricName checks at its edge. They go into JSON
 * paths (SQLite) and InfluxQL identifiers. A name too long is refused without being echoed.
 */
function checkMetricName(metric: string): void {
  if (metric.length > METRIC_NAME_MAX_LENGTH) refuse(`metric name of ${metric.length} characters is longer than ${METRIC_NAME_MAX_LENGTH}`)
  if (!METRIC_NAME_PATTERN.test(metric)) refuse(`metric name ${JSON.stringify(metric)} is not an identifier (letters and digits, starting with a letter)`)
}

/**
 * Device ids must match the registry pattern: InfluxDB 1.x tag values cannot hold newlines or end in a
 * backslash, and both adapters must refuse the same ids.
 */
export function checkReadings(readings: readonly StoredReading[]): void {
  for (const r of readings) {
    if (!DEVICE_ID_PATTERN.test(r.deviceId)) refuse(`device id ${JSON.stringify(r.deviceId)} does not match ${DEVICE_ID_PATTERN}`)
    if (!Number.isSafeInteger(r.ts)) refuse(`reading of ${r.deviceId} has a non-integer ts ${r.ts}`)
    if (!Number.isSafeInteger(r.receivedAt)) refuse(`reading of ${r.deviceId} at ${r.ts} has a non-integer receivedAt ${r.receivedAt}`)
    if (r.seq !== undefined && !Number.isSafeInteger(r.seq)) refuse(`reading of ${r.deviceId} at ${r.ts} has a non-integer seq ${r.seq}`)
    if (!kinds.has(r.kind)) refuse(`reading of ${r.deviceId} at ${r.ts} has an unknown kind ${JSON.stringify(r.kind)}`)
    if (!wardSet.has(r.ward)) refuse(`reading of ${r.deviceId} at ${r.ts} has an unknown ward ${JSON.stringify(r.ward)}`)
    if (!tsSources.has(r.tsSource)) refuse(`reading of ${r.deviceId} at ${r.ts} has an unknown tsSource ${JSON.stringify(r.tsSource)}`)
    for (const name of Object.keys(r.fields)) {
      if (!METRIC_NAME_PATTERN.test(name) || RESERVED_FIELD_NAMES.has(name))
        refuse(`reading of ${r.deviceId} at ${r.ts} has a bad field name ${JSON.stringify(name)}`)
      const v = r.fields[name]
      if (typeof v !== 'number' || !Number.isFinite(v)) refuse(`reading of ${r.deviceId} at ${r.ts}: field ${name} is not a finite number (${String(v)})`)
    }
  }
}

export function parseHistoryQuery(query: HistoryQueryType): HistoryQueryType {
  const q = parseOrRefuse(HistoryQuery, query, 'history query')
  checkMetricName(q.metric)
  return { ...q, deviceIds: [...new Set(q.deviceIds)] }
}

export type DeadLetterFilter = z.output<typeof DeadLetterQuery>

export function parseDeadLetterQuery(query: DeadLetterQueryInput | undefined): DeadLetterFilter {
  return parseOrRefuse(DeadLetterQuery, query ?? {}, 'dead letter query')
}

export type DeadLetterCountFilter = z.output<typeof DeadLetterCountQuery>

export function parseDeadLetterCountQuery(query: z.input<typeof DeadLetterCountQuery> | undefined): DeadLetterCountFilter {
  return parseOrRefuse(DeadLetterCountQuery, query ?? {}, 'dead letter count query')
}

const DeadLetterBucketQuery = DeadLetterCountQuery.extend({ from: z.number().int(), to: z.number().int(), bucket: DeadLetterBucket })

/** Both adapters refuse a windowed count of more windows than a chart can show, so neither scans a year by hours. */
export const DEAD_LETTER_MAX_BUCKETS = 24 * 31

export function parseDeadLetterBucketQuery(query: z.input<typeof DeadLetterBucketQuery>): z.output<typeof DeadLetterBucketQuery> {
  const q = parseOrRefuse(DeadLetterBucketQuery, query, 'dead letter bucket query')
  if (q.to <= q.from) refuse(`dead letter bucket query: to ${q.to} is not after from ${q.from}`)
  if ((q.to - q.from) / (q.bucket === 'hour' ? 3_600_000 : 86_400_000) > DEAD_LETTER_MAX_BUCKETS)
    refuse(`dead letter bucket query: more than ${DEAD_LETTER_MAX_BUCKETS} ${q.bucket} windows`)
  return q
}

function parseOrRefuse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const res = schema.safeParse(value)
  return res.success ? res.data : refuse(`invalid ${what}:\n${z.prettifyError(res.error)}`, res.error)
}

/** Device ids a query can match at all; others cannot be stored, so they are answered without asking the database. */
export const isStorableDeviceId = (id: string): boolean => DEVICE_ID_PATTERN.test(id)

const ReplayResolutionInput = z.enum(['raw', '5m'])
const ReplayStateInput = z.strictObject({
  at: z.number().int().min(0),
  lookbackMs: z.number().int().min(1).max(REPLAY_MAX_AGE_MS),
  resolution: ReplayResolutionInput,
})
const ReplayChangesInput = z.strictObject({ from: z.number().int().min(0), to: z.number().int().min(0), resolution: ReplayResolutionInput })

export function parseReplayStateQuery(query: ReplayStateQuery): ReplayStateQuery {
  return parseOrRefuse(ReplayStateInput, query, 'replay state query')
}

/** Both adapters refuse a window longer than replay's, so neither is asked for a month of raw points at once. */
export function parseReplayChangesQuery(query: ReplayChangesQuery): ReplayChangesQuery {
  const q = parseOrRefuse(ReplayChangesInput, query, 'replay changes query')
  if (q.to <= q.from) refuse(`replay changes query: to ${q.to} is not after from ${q.from}`)
  if (q.to - q.from > REPLAY_WINDOW_MAX_MS) refuse(`replay changes query: window of ${q.to - q.from} ms is longer than ${REPLAY_WINDOW_MAX_MS}`)
  return q
}
