import { z } from 'zod'
import {
  DEAD_LETTER_RAW_MAX_BYTES,
  deviceKinds,
  DeviceReading,
  EpochMs,
  parseDeviceTopic,
  type DeviceRegistry,
  type Rejection,
  type RejectReason,
  type StoredReading,
} from '@mytho/schema'

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

/**
 * Turns one MQTT message into stored readings and rejections, against the contract and the registry.
 * Never throws: anything a device can send ends as data on one side or the other.
 */
export function validateMessage(
  topic: string,
  payload: Buffer,
  receivedAt: number,
  registry: DeviceRegistry,
  limits: ValidationLimits = defaultLimits,
): ValidationResult {
  const readings: StoredReading[] = []
  const rejections: Rejection[] = []
  const parsedTopic = parseDeviceTopic(topic)

  const reject = (code: RejectReason, message: string, raw: string, extra: { deviceId?: string | undefined; issues?: unknown[] } = {}) => {
    rejections.push({
      code,
      message,
      raw: raw.length > DEAD_LETTER_RAW_MAX_BYTES ? raw.slice(0, DEAD_LETTER_RAW_MAX_BYTES) : raw,
      rawBytes: payload.length,
      topic,
      receivedAt,
      ...(extra.deviceId !== undefined ? { deviceId: extra.deviceId } : {}),
      ...(extra.issues !== undefined ? { issues: extra.issues } : {}),
    })
    return { readings, rejections }
  }

  if (parsedTopic === undefined || parsedTopic.suffix !== 'readings')
    return reject('bad_topic', `topic "${topic}" is not mytho/v1/devices/{deviceId}/readings`, boundedRaw(payload))
  const topicDevice = parsedTopic.deviceId
  if (payload.length > limits.maxPayloadBytes)
    return reject('oversized', `payload of ${payload.length} bytes exceeds ${limits.maxPayloadBytes}`, boundedRaw(payload), { deviceId: topicDevice })

  const text = payload.toString('utf8')
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    if (nonFiniteToken.test(text)) return reject('non_finite', 'NaN or Infinity is not a number a sensor can report', boundedRaw(payload), { deviceId: topicDevice })
    return reject('not_json', `payload is not JSON: ${(err as Error).message}`, boundedRaw(payload), { deviceId: topicDevice })
  }

  const elements = Array.isArray(json) ? json : [json]
  if (elements.length === 0) return reject('invalid_reading', 'empty array: no reading in the message', boundedRaw(payload), { deviceId: topicDevice })
  if (elements.length > limits.maxReadingsPerMessage)
    return reject('oversized', `${elements.length} readings in one message exceed ${limits.maxReadingsPerMessage}`, boundedRaw(payload), { deviceId: topicDevice })

  // The raw text is for dead letters only: made when one is, not for every accepted reading.
  const rawOf = (element: unknown): string => (elements.length === 1 ? boundedRaw(payload) : JSON.stringify(element))
  for (const element of elements) {
    if (element === null || typeof element !== 'object' || Array.isArray(element)) {
      reject('invalid_reading', `a reading must be a JSON object, got ${element === null ? 'null' : Array.isArray(element) ? 'array' : typeof element}`, rawOf(element), { deviceId: topicDevice })
      continue
    }
    const { deviceId: claimedId, rxTs, ...body } = element as Record<string, unknown>
    if (hasNonFinite(element)) {
      reject('non_finite', 'a value is NaN or ±Infinity', rawOf(element), { deviceId: topicDevice })
      continue
    }
    let deviceId: string = topicDevice
    if (claimedId !== undefined && claimedId !== topicDevice) {
      const claimed = typeof claimedId === 'string' ? registry.get(claimedId) : undefined
      if (!claimed || claimed.gatewayId !== topicDevice) {
        reject('not_gateway', `${topicDevice} is not the gateway of ${String(claimedId)}`, rawOf(element), { deviceId: topicDevice })
        continue
      }
      deviceId = claimed.id
    }
    const device = registry.get(deviceId)
    if (!device) {
      reject('unknown_device', `device ${deviceId} is not in the registry`, rawOf(element), { deviceId })
      continue
    }
    const claimedKind = body['kind']
    if (isDeviceKind(claimedKind) && claimedKind !== device.kind) {
      reject('kind_mismatch', `device ${deviceId} is a ${device.kind} device, the reading says ${claimedKind}`, rawOf(element), { deviceId })
      continue
    }
    const parsed = DeviceReading.safeParse(body)
    if (!parsed.success) {
      reject(classify(parsed.error), z.prettifyError(parsed.error), rawOf(element), { deviceId, issues: parsed.error.issues as unknown[] })
      continue
    }
    const brokerTs = rxTs === undefined ? undefined : EpochMs.safeParse(rxTs)
    const reading = parsed.data
    if (reading.ts !== undefined && reading.ts > receivedAt + limits.futureToleranceMs) {
      reject('future_timestamp', `ts ${new Date(reading.ts).toISOString()} is ${Math.round((reading.ts - receivedAt) / 1000)} s ahead of the receive time`, rawOf(element), { deviceId })
      continue
    }
    const fields: Record<string, number> = {}
    for (const [k, v] of Object.entries(reading)) if (!nonMetricKeys.has(k) && typeof v === 'number') fields[k] = v
    const [ts, tsSource] =
      reading.ts !== undefined ? [reading.ts, 'device' as const] : brokerTs?.success ? [brokerTs.data, 'broker' as const] : [receivedAt, 'ingest' as const]
    readings.push({
      deviceId,
      kind: device.kind,
      ward: device.ward,
      ts,
      tsSource,
      receivedAt,
      ...(reading.seq !== undefined ? { seq: reading.seq } : {}),
      fields,
    })
  }
  return { readings, rejections }
}
