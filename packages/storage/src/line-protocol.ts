import { escape as lineEscape } from '@influxdata/influxdb-client'
import type { Rejection, StoredReading } from '@mytho/schema'
import { DEVICE_ID_PATTERN } from '@mytho/schema'
import { StorageError } from './port.ts'

/*
 * Line protocol and InfluxQL text for the InfluxDB adapter, built with template strings and the client's
 * escape helpers (the client's Point class measured ~6× slower on 5,000-reading batches).
 * Spec: https://docs.influxdata.com/influxdb/v1.6/write_protocols/line_protocol_reference/
 */

/** Measurement holding rejected messages; readings live in one measurement per device kind. */
export const DEAD_LETTER_MEASUREMENT = 'dead_letter'

/**
 * Reversible text encoding for string field values. The line-protocol reference says newlines are not
 * supported in field values (1.6's parser happens to accept them inside quotes; 2.x/3.x docs forbid them),
 * and its string escapes only cover `"` and `\`. So we store `\` as `\\`, LF as `\n` and CR as `\r`:
 * operators still read the text, and every string (Vietnamese, quotes, `=`, trailing backslashes) round-trips.
 */
export function encodeText(s: string): string {
  return s.replace(/[\\\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : '\\r'))
}

export function decodeText(s: string): string {
  return s.replace(/\\([\\nr])/g, (_, c: string) => (c === '\\' ? '\\' : c === 'n' ? '\n' : '\r'))
}

/** A string field value: our text encoding, then line protocol's quoting. */
const str = (s: string): string => lineEscape.quoted(encodeText(s))

/** Floats only: a field's type is fixed by its first write, and 12 then 12.5 must not flip it from integer to float. */
const float = (v: number): string => String(v)

/*
 * readingLine runs for every reading stored (issue #8's hot path). A device's series key (measurement and tags) and
 * the field names repeat on every line, so their escaped text is kept rather than escaped again each time; both
 * caches are bounded (cleared when full) so odd input cannot grow them without end.
 */
const CACHE_MAX = 100_000
const seriesKeys = new Map<string, { kind: string; ward: string; key: string }>()
const fieldNames = new Map<string, string>()
const tsSourceText: Record<string, string> = { device: str('device'), broker: str('broker'), ingest: str('ingest') }

function seriesKey(r: StoredReading): string {
  const known = seriesKeys.get(r.deviceId)
  if (known !== undefined && known.kind === r.kind && known.ward === r.ward) return known.key
  const key = `${lineEscape.measurement(r.kind)},deviceId=${lineEscape.tag(r.deviceId)},kind=${lineEscape.tag(r.kind)},ward=${lineEscape.tag(r.ward)}`
  if (seriesKeys.size >= CACHE_MAX) seriesKeys.clear()
  seriesKeys.set(r.deviceId, { kind: r.kind, ward: r.ward, key })
  return key
}

function fieldName(name: string): string {
  let escaped = fieldNames.get(name)
  if (escaped === undefined) {
    escaped = lineEscape.tag(name)
    if (fieldNames.size >= CACHE_MAX) fieldNames.clear()
    fieldNames.set(name, escaped)
  }
  return escaped
}

/**
 * One reading as one point. Tags (sorted by key, as InfluxDB prefers): deviceId, kind, ward.
 * Fields: the metrics as floats, tsSource as string, receivedAt and seq as integers. Timestamp: ts in ms.
 */
export function readingLine(r: StoredReading): string {
  let fields = ''
  for (const name in r.fields) fields += `${fieldName(name)}=${float(r.fields[name]!)},`
  fields += `tsSource=${tsSourceText[r.tsSource] ?? str(r.tsSource)},receivedAt=${r.receivedAt}i`
  if (r.seq !== undefined) fields += `,seq=${r.seq}i`
  return `${seriesKey(r)} ${fields} ${r.ts}`
}

/** Reason codes become tag values; they are a closed set of snake_case names, checked so a tag can never break a line. */
const CODE_PATTERN = /^[a-z][a-z0-9_]{0,63}$/

/**
 * One dead letter as one point, timestamp in **ns**: receivedAt ms × 1e6 + `seq` (0 ≤ seq < 1e6), so two
 * dead letters received in the same ms are two points instead of one overwriting the other.
 * deviceId is a tag when it is a valid device id, else (junk from a bad message) the string field `deviceIdText`.
 */
export function deadLetterLine(r: Rejection, seq: number): string {
  if (!CODE_PATTERN.test(r.code)) throw new StorageError(`dead letter code ${JSON.stringify(r.code)} is not a snake_case name`, { retryable: false })
  if (!Number.isSafeInteger(r.receivedAt) || r.receivedAt < 0)
    throw new StorageError(`dead letter receivedAt ${r.receivedAt} is not a ms timestamp`, { retryable: false })
  let tags = `,code=${r.code}`
  let fields = `message=${str(r.message)},topic=${str(r.topic)},raw=${str(r.raw)},rawBytes=${Math.trunc(r.rawBytes)}i`
  if (r.issues !== undefined) fields += `,issues=${str(JSON.stringify(r.issues))}`
  if (r.deviceId !== undefined) {
    if (DEVICE_ID_PATTERN.test(r.deviceId)) tags += `,deviceId=${r.deviceId}`
    else fields += `,deviceIdText=${str(r.deviceId)}`
  }
  const ns = BigInt(r.receivedAt) * 1_000_000n + BigInt(seq % 1_000_000)
  return `${DEAD_LETTER_MEASUREMENT}${tags} ${fields} ${ns}`
}

/** An InfluxQL identifier: double-quoted, `"` and `\` escaped. */
export function ident(name: string): string {
  return `"${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`
}

/** An InfluxQL string literal: single-quoted; the scanner knows `\\`, `\'` and `\n`. */
export function literal(value: string): string {
  return `'${value.replace(/[\\'\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}'`
}
