import { type DeviceReading, readingsTopic } from '@mytho/schema'
import type { FaultKind } from './kinds.ts'

/** One MQTT message to send. */
export interface Publication {
  topic: string
  payload: string
}

/** Per device: what a fault needs to remember between messages. */
export interface FaultMemory {
  /** The previous clean reading, for `stuck`. */
  last?: DeviceReading
  /** A reading held back by `out_of_order`, sent after the next one. */
  held?: Publication
}

/** Field a kind's out-of-range and wrong-type faults corrupt, with a value past its physical limit (packages/schema readings.ts). */
const PRIMARY: Record<DeviceReading['kind'], { field: string; outOfRange: number; spike: (v: number) => number }> = {
  water_level: { field: 'waterLevelCm', outOfRange: 9999, spike: (v) => v + 85 },
  traffic: { field: 'avgSpeedKmh', outOfRange: 450, spike: (v) => Math.min(200, v * 3) },
  rain: { field: 'rainMm', outOfRange: 900, spike: (v) => Math.min(500, v + 60) },
  salinity: { field: 'salinityGL', outOfRange: 80, spike: (v) => Math.min(45, v + 8) },
  air_quality: { field: 'pm25UgM3', outOfRange: 2500, spike: (v) => Math.min(1000, v * 5 + 100) },
}

const FUTURE_SKEW_MS = 10 * 60_000

/**
 * The messages a device sends for one reading with `fault` (undefined = clean). Well-formed faults
 * change values only; malformed ones change the bytes; `out_of_order` returns nothing now and the
 * reading goes out after the next one.
 */
export function applyFault(deviceId: string, reading: DeviceReading, fault: FaultKind | undefined, memory: FaultMemory): Publication[] {
  const topic = readingsTopic(deviceId)
  const json = (r: unknown): Publication => ({ topic, payload: JSON.stringify(r) })
  const p = PRIMARY[reading.kind]
  const asRecord = reading as unknown as Record<string, unknown>
  let out: Publication[]
  switch (fault) {
    case undefined:
      out = [json(reading)]
      break
    case 'not_json':
      // A truncated frame, as a flaky serial link delivers it.
      out = [{ topic, payload: JSON.stringify(reading).slice(0, 17) }]
      break
    case 'wrong_type':
      out = [json({ ...asRecord, [p.field]: String(asRecord[p.field]) })]
      break
    case 'out_of_range':
      out = [json({ ...asRecord, [p.field]: p.outOfRange })]
      break
    case 'non_finite':
      // JSON has no NaN; a naive encoder writes 1e999, which parses to Infinity.
      out = [{ topic, payload: JSON.stringify(reading).replace(/}$/, ',"spare":1e999}') }]
      break
    case 'wrong_topic':
      out = [{ topic: `${topic}/extra`, payload: JSON.stringify(reading) }]
      break
    case 'future_timestamp':
      out = [json({ ...reading, ts: (reading.ts ?? Date.now()) + FUTURE_SKEW_MS })]
      break
    case 'stuck': {
      const prev = memory.last as Record<string, unknown> | undefined
      const frozen = prev ? { ...asRecord, [p.field]: prev[p.field] } : asRecord
      out = [json(frozen)]
      break
    }
    case 'spike':
      out = [json({ ...asRecord, [p.field]: Math.round(p.spike(Number(asRecord[p.field])) * 10) / 10 })]
      break
    case 'duplicate':
      out = [json(reading), json(reading)]
      break
    case 'out_of_order':
      out = []
      break
  }
  // A stuck sensor keeps repeating what it froze at; other faults leave the last clean reading alone.
  if (fault === undefined) memory.last = reading
  const held = memory.held
  if (fault === 'out_of_order') memory.held = json(reading)
  else delete memory.held
  if (held) out.push(held)
  return out
}
