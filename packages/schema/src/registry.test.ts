import { describe, expect, it } from 'vitest'
import { loadRegistryFile, parseRegistry } from './index.ts'

describe('seed fleet registry', () => {
  it('loads at least 40 devices of every kind, inside the city', () => {
    const reg = loadRegistryFile()
    expect(reg.size).toBeGreaterThanOrEqual(40)
    const kinds = new Set(reg.devices.map((d) => d.kind))
    expect([...kinds].sort()).toEqual(['air_quality', 'rain', 'salinity', 'traffic', 'water_level'])
    expect(
      reg.devices
        .filter((d) => d.kind === 'water_level')
        .map((d) => d.waterBody)
        .sort(),
    ).toContain('canal')
  })

  it('names the entry and field that is wrong', () => {
    const good = loadRegistryFile().devices[0]!
    expect(() => parseRegistry([good, { ...good, id: 'x2', lat: 21.03 }], 'test.json')).toThrowErrorMatchingInlineSnapshot(`
      [RegistryError: test.json is invalid:
      ✖ lower-case letters, digits and dashes, 3–64 characters, not starting with mytho- or svc-
        → at [1].id
      ✖ Too big: expected number to be <=10.42
        → at [1].lat]
    `)
    expect(() => parseRegistry([good, good], 'dup.json')).toThrow(/duplicate device id tc-ql1-trung-luong/)
  })
})
