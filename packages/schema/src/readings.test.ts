import { describe, expect, it } from 'vitest'
import { allMetrics, DeviceReading, metricsByKind, metricUnits } from './readings.ts'

// What a reading carries besides its metrics (the envelope of every branch).
const envelope = new Set(['kind', 'ts', 'seq'])
const shapeFields = (kind: string): string[] => {
  const branch = DeviceReading.options.find((o) => o.shape.kind.value === kind)
  if (!branch) throw new Error(`no reading shape for kind ${kind}`)
  return Object.keys(branch.shape).filter((k) => !envelope.has(k))
}

describe('metricsByKind', () => {
  it("has one list per reading shape, naming exactly that shape's fields, each once", () => {
    expect(Object.keys(metricsByKind).sort()).toEqual(DeviceReading.options.map((o) => o.shape.kind.value).sort())
    for (const [kind, metrics] of Object.entries(metricsByKind)) {
      expect(new Set(metrics).size, kind).toBe(metrics.length)
      expect([...metrics].sort(), kind).toEqual(shapeFields(kind).sort())
    }
  })
})

describe('metricUnits', () => {
  it('gives a unit for every metric and for nothing else', () => {
    expect(Object.keys(metricUnits).sort()).toEqual([...allMetrics].sort())
  })

  // The unit is in the field name (conventions: `waterLevelCm`, `avgSpeedKmh`); the table must say the same.
  const suffixes: Record<string, string> = {
    Kmh: 'km/h',
    Pct: '%',
    S: 's',
    V: 'V',
    Cm: 'cm',
    Mm: 'mm',
    MmH: 'mm/h',
    GL: 'g/L',
    C: '°C',
    UgM3: 'µg/m³',
    Count: '',
  }
  it.each(Object.entries(metricUnits))('%s is in %j, as its name says', (field, unit) => {
    const suffix = Object.keys(suffixes)
      .filter((s) => field.endsWith(s))
      .sort((a, b) => b.length - a.length)[0]
    expect(suffix, `${field} names no known unit`).toBeDefined()
    expect(unit).toBe(suffixes[suffix!])
  })
})
