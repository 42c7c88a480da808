import {
  DEVICE_ID_PATTERN,
  DeadLetterQuery,
  StoredReading as StoredReadingSchema,
  deviceKinds,
  wards,
  HistoryQuery,
  type DeadLetterQuery as DeadLetterQueryInput,
  type HistoryQuery as HistoryQueryType,
  type StoredReading,
} from '@mytho/schema'
import { z } from 'zod'
import { StorageError } from './port.ts'

/*
 * Checks both adapters apply before touching the database, so they accept and refuse the same input.
 * A refusal is a StorageError with retryable=false: the same call can never succeed.
 */

/** Metric and field names: an ASCII identifier. They go into JSON paths (SQLite) and InfluxQL identifiers. */
export const METRIC_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9]{0,63}$/

/** Column names a reading's own keys use in InfluxDB; a field with one of these names would collide. */
const RESERVED_FIELD_NAMES = new Set(['time', 'deviceId', 'kind', 'ward', 'tsSource', 'receivedAt', 'seq'])

const kinds = new Set<string>(deviceKinds)
const wardSet = new Set<string>(wards)
const tsSources = new Set<string>(StoredReadingSchema.shape.tsSource.options)

const refuse = (message: string, cause?: unknown): never => {
  throw new StorageError(message, { retryable: false, cause })
}

export function checkMetricName(metric: string): void {
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
      if (!METRIC_NAME_PATTERN.test(name) || RESERVED_FIELD_NAMES.has(name)) refuse(`reading of ${r.deviceId} at ${r.ts} has a bad field name ${JSON.stringify(name)}`)
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

function parseOrRefuse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const res = schema.safeParse(value)
  return res.success ? res.data : refuse(`invalid ${what}:\n${z.prettifyError(res.error)}`, res.error)
}

/** Device ids a query can match at all; others cannot be stored, so they are answered without asking the database. */
export const isStorableDeviceId = (id: string): boolean => DEVICE_ID_PATTERN.test(id)
