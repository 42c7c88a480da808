import { isUtf8 } from 'node:buffer'
import { z } from 'zod'
import { deviceKinds } from './lists.ts'
import { DeviceReading, EpochMs } from './readings.ts'
import type { DeviceRegistry } from './registry.ts'
import { fastParseReading } from './reading-fast-check.ts'
import { DEAD_LETTER_RAW_MAX_BYTES, type Rejection, type RejectReason } from './rejection.ts'
import type { StoredReading } from './stored-reading.ts'
import { parseDeviceTopic } from './topics.ts'

export interface ValidationLimits {
  /** Largest payload accepted, bytes. */
  maxPayloadBytes: number
  /** Most readings in one array message. */
  maxReadingsPerMessage: number
  /** How far a device clock may run ahead of our receive time, ms (5 minutes by contract). */
  futureToleranceMs: number
}

export const defaultLimits: ValidationLimits = { maxPayloadBytes: 65_536, maxReadingsPerMessage: 500, futureToleranceMs: 5 * 60_000 }

export interface ValidationResult {
  readings: StoredReading[]
  rejections: Rejection[]
}

/** Keys a device never names as a measurement. */
const nonMetricKeys = new Set(['kind', 'ts', 'seq', 'deviceId', 'rxTs'])

const boundedRaw = (payload: Buffer): string => payload.subarray(0, DEAD_LETTER_RAW_MAX_BYTES).toString('utf8')

/** JSON.parse turns `1e999` into Infinity; the literal NaN/Infinity tokens do not parse at all. Loops, not
 * Object.values().some(): it runs over every reading. */
function hasNonFinite(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isFinite(value)
  if (Array.isArray(value)) {
    for (const v of value) if (hasNonFinite(v)) return true
    return false
  }
  if (value !== null && typeof value === 'object') {
    for (const k in value) if (hasNonFinite((value as Record<string, unknown>)[k])) return true
  }
  return false
}
const isDeviceKind = (v: unknown): v is (typeof deviceKinds)[number] => typeof v === 'string' && (deviceKinds as readonly string[]).includes(v)
const nonFiniteToken = /(?<![\w"])(-?Infinity|NaN)(?![\w"])/

/** A reading the schema refused is out of range when every complaint is about a bound; else its shape is wrong. */
function classify(error: z.ZodError): RejectReason {
  return error.issues.every((i) => i.code === 'too_big' || i.code === 'too_small') ? 'out_of_range' : 'invalid_reading'
}

/** What one call collects; module-level helpers take it instead of closures made per message. */
interface Context {
  topic: string
  payload: Buffer
  receivedAt: number
  /** Elements of the message: one for a single reading (its raw text is the payload's). */
  elements: readonly unknown[]
  readings: StoredReading[]
  rejections: Rejection[]
}

function reject(c: Context, code: RejectReason, message: string, raw: string, deviceId?: string, issues?: unknown[]): ValidationResult {
  const r: Rejection = {
    code,
    message,
    raw: raw.length > DEAD_LETTER_RAW_MAX_BYTES ? raw.slice(0, DEAD_LETTER_RAW_MAX_BYTES) : raw,
    rawBytes: c.payload.length,
    topic: c.topic,
    receivedAt: c.receivedAt,
  }
  if (deviceId !== undefined) r.deviceId = deviceId
  if (issues !== undefined) r.issues = issues
  c.rejections.push(r)
  return { readings: c.readings, rejections: c.rejections }
}

// The raw text is for dead letters only: made when one is, not for every accepted reading.
const rawOf = (c: Context, element: unknown): string => (c.elements.length === 1 ? boundedRaw(c.payload) : JSON.stringify(element))

/**
 * Turns one MQTT message into stored readings and rejections, against the contract and the registry.
 * Never throws: anything a device can send ends as data on one side or the other.
 * It runs for every reading (issue #8's hot path): no closures per call, and the element goes to the schema
 * as parsed unless it carries envelope keys to take off.
 */
export function validateMessage(
  topic: string,
  payload: Buffer,
  receivedAt: number,
  registry: DeviceRegistry,
  limits: ValidationLimits = defaultLimits,
): ValidationResult {
  const c: Context = { topic, payload, receivedAt, elements: [], readings: [], rejections: [] }
  const parsedTopic = parseDeviceTopic(topic)
  if (parsedTopic === undefined || parsedTopic.suffix !== 'readings')
    return reject(c, 'bad_topic', `topic "${topic}" is not mytho/v1/devices/{deviceId}/readings`, boundedRaw(payload))
  const topicDevice = parsedTopic.deviceId
  if (payload.length > limits.maxPayloadBytes)
    return reject(c, 'oversized', `payload of ${payload.length} bytes exceeds ${limits.maxPayloadBytes}`, boundedRaw(payload), topicDevice)

  // Decoded leniently, a stray byte becomes U+FFFD and the text may still parse: a device id with one in it
  // would be refused as not_gateway, a string value kept. JSON text is UTF-8 (RFC 8259), so say that instead.
  if (!isUtf8(payload))
    return reject(c, 'not_utf8', `payload of ${payload.length} bytes is not well-formed UTF-8; readings must be UTF-8 JSON`, boundedRaw(payload), topicDevice)
  const text = payload.toString('utf8')
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    if (nonFiniteToken.test(text)) return reject(c, 'non_finite', 'NaN or Infinity is not a number a sensor can report', boundedRaw(payload), topicDevice)
    return reject(c, 'not_json', `payload is not JSON: ${(err as Error).message}`, boundedRaw(payload), topicDevice)
  }

  const elements = Array.isArray(json) ? json : [json]
  c.elements = elements
  if (elements.length === 0) return reject(c, 'invalid_reading', 'empty array: no reading in the message', boundedRaw(payload), topicDevice)
  if (elements.length > limits.maxReadingsPerMessage)
    return reject(c, 'oversized', `${elements.length} readings in one message exceed ${limits.maxReadingsPerMessage}`, boundedRaw(payload), topicDevice)

  for (const element of elements) {
    if (element === null || typeof element !== 'object' || Array.isArray(element)) {
      reject(
        c,
        'invalid_reading',
        `a reading must be a JSON object, got ${element === null ? 'null' : Array.isArray(element) ? 'array' : typeof element}`,
        rawOf(c, element),
        topicDevice,
      )
      continue
    }
    if (hasNonFinite(element)) {
      reject(c, 'non_finite', 'a value is NaN or ±Infinity', rawOf(c, element), topicDevice)
      continue
    }
    const el = element as Record<string, unknown>
    // The envelope keys are not the reading's: the strict schema would refuse them. Most readings carry neither.
    const claimedId = el['deviceId']
    const rxTs = el['rxTs']
    let body = el
    if (claimedId !== undefined || rxTs !== undefined || 'deviceId' in el || 'rxTs' in el) {
      const { deviceId: _d, rxTs: _r, ...rest } = el
      body = rest
    }
    let deviceId: string = topicDevice
    if (claimedId !== undefined && claimedId !== topicDevice) {
      const claimed = typeof claimedId === 'string' ? registry.get(claimedId) : undefined
      if (!claimed || claimed.gatewayId !== topicDevice) {
        reject(c, 'not_gateway', `${topicDevice} is not the gateway of ${String(claimedId)}`, rawOf(c, element), topicDevice)
        continue
      }
      deviceId = claimed.id
    }
    const device = registry.get(deviceId)
    if (!device) {
      reject(c, 'unknown_device', `device ${deviceId} is not in the registry`, rawOf(c, element), deviceId)
      continue
    }
    const claimedKind = body['kind']
    if (isDeviceKind(claimedKind) && claimedKind !== device.kind) {
      reject(c, 'kind_mismatch', `device ${deviceId} is a ${device.kind} device, the reading says ${claimedKind}`, rawOf(c, element), deviceId)
      continue
    }
    let reading = fastParseReading(body)
    if (reading === undefined) {
      const parsed = DeviceReading.safeParse(body)
      if (!parsed.success) {
        reject(c, classify(parsed.error), z.prettifyError(parsed.error), rawOf(c, element), deviceId, parsed.error.issues as unknown[])
        continue
      }
      reading = parsed.data
    }
    if (reading.ts !== undefined && reading.ts > receivedAt + limits.futureToleranceMs) {
      reject(
        c,
        'future_timestamp',
        `ts ${new Date(reading.ts).toISOString()} is ${Math.round((reading.ts - receivedAt) / 1000)} s ahead of the receive time`,
        rawOf(c, element),
        deviceId,
      )
      continue
    }
    const fields: Record<string, number> = {}
    for (const k in reading) {
      const v = (reading as Record<string, unknown>)[k]
      if (typeof v === 'number' && !nonMetricKeys.has(k)) fields[k] = v
    }
    let ts = receivedAt
    let tsSource: StoredReading['tsSource'] = 'ingest'
    if (reading.ts !== undefined) {
      ts = reading.ts
      tsSource = 'device'
    } else if (rxTs !== undefined) {
      const brokerTs = EpochMs.safeParse(rxTs)
      if (brokerTs.success) {
        ts = brokerTs.data
        tsSource = 'broker'
      }
    }
    const stored: StoredReading = { deviceId, kind: device.kind, ward: device.ward, ts, tsSource, receivedAt, fields }
    if (reading.seq !== undefined) stored.seq = reading.seq
    c.readings.push(stored)
  }
  return { readings: c.readings, rejections: c.rejections }
}
