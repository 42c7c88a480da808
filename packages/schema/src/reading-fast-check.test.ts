import { describe, expect, it } from 'vitest'
import { deviceKinds } from './lists.ts'
import { fastCheckedKinds, fastParseReading } from './reading-fast-check.ts'
import { DeviceReading } from './readings.ts'

/*
 * The fast path may only ever say what zod says: for every body it accepts, zod accepts it with the same output, and
 * it must accept the readings devices really send (else the hot path silently falls back to zod).
 */

const typical: Record<string, Record<string, unknown>> = {
  traffic: { kind: 'traffic', ts: 1_764_547_200_000, seq: 7, intervalS: 60, vehicleCount: 42, motorbikeCount: 36, avgSpeedKmh: 31.5, occupancyPct: 12.5 },
  water_level: { kind: 'water_level', ts: 1_764_547_200_000, waterLevelCm: 152.5, batteryV: 12.7 },
  rain: { kind: 'rain', rainMm: 0.4, rainRateMmH: 12 },
  salinity: { kind: 'salinity', ts: 1_764_547_200_000, salinityGL: 0.31, waterTempC: 29.5 },
  air_quality: { kind: 'air_quality', pm25UgM3: 27.5, pm10UgM3: 40, tempC: 31, humidityPct: 80 },
}

// A small deterministic generator (no dependency): values around each field's bounds and of the wrong types.
function* variants(): Generator<Record<string, unknown>> {
  const odd: unknown[] = [
    -1,
    0,
    0.5,
    1,
    12,
    -400,
    -400.0001,
    600,
    600.0001,
    16,
    16.01,
    100,
    100.5,
    200,
    3600,
    3601,
    20_000,
    20_001,
    2 ** 53,
    1_577_836_799_999,
    1_577_836_800_000,
    4_102_444_800_000,
    4_102_444_800_001,
    Number.NaN,
    Infinity,
    '12',
    null,
    true,
    [],
    {},
  ]
  for (const base of Object.values(typical)) {
    yield base
    for (const key of [...Object.keys(base), 'seq', 'ts', 'batteryV', 'extra', '__proto__', 'constructor']) {
      for (const v of odd) yield { ...base, [key]: v }
      const { [key]: _, ...without } = base
      yield without
    }
    yield JSON.parse(`{"kind":"${base['kind']}","__proto__":{"x":1}}`) as Record<string, unknown>
    yield { ...base, kind: base['kind'] === 'rain' ? 'salinity' : 'rain' }
  }
  yield { kind: 'unknown', x: 1 }
  yield Object.assign(Object.create({ inherited: 1 }) as object, typical['rain']) as Record<string, unknown>
}

describe('the readings fast path', () => {
  it('covers every kind', () => {
    expect([...fastCheckedKinds].sort()).toEqual([...deviceKinds].sort())
  })

  it('accepts the readings devices send, with the output zod gives', () => {
    for (const body of Object.values(typical)) {
      const fast = fastParseReading(body)
      expect(fast, JSON.stringify(body)).toBeDefined()
      expect(JSON.stringify(fast)).toBe(JSON.stringify(DeviceReading.parse(body)))
    }
  })

  it('never accepts what zod refuses, and agrees with it on what both accept', () => {
    let fastAccepted = 0
    let zodAccepted = 0
    for (const body of variants()) {
      const fast = fastParseReading(body)
      const slow = DeviceReading.safeParse(body)
      if (slow.success) zodAccepted++
      if (fast === undefined) continue
      fastAccepted++
      expect(slow.success, `fast path accepted what zod refuses: ${JSON.stringify(body)}`).toBe(true)
      // Same keys in the same order, same values.
      expect(JSON.stringify(fast)).toBe(JSON.stringify(slow.data))
    }
    // The variants include plenty that both accept: the check above is not vacuous.
    expect(fastAccepted).toBeGreaterThan(50)
    expect(fastAccepted).toBe(zodAccepted)
  })
})
