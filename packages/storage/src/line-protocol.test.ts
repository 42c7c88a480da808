import { describe, expect, it } from 'vitest'
import { reading, rejection } from './contract.test-suite.ts'
import { deadLetterLine, decodeText, encodeText, ident, literal, readingLine } from './line-protocol.ts'

describe('text encoding for string fields', () => {
  const samples = ['', 'plain', 'a\nb', 'x\r\ny', 'ends with \\', '\\n is two characters', '\\\\\n\\', 'Nhiệt độ "cao", a=b\\c', '😀 \t tab']
  it.each(samples)('round-trips %j', (s) => {
    expect(decodeText(encodeText(s))).toBe(s)
  })
  it('leaves no raw newline and keeps ordinary text readable', () => {
    expect(encodeText('dòng 1\ndòng 2\\')).toBe('dòng 1\\ndòng 2\\\\')
  })
})

describe('readingLine', () => {
  it('tags sorted, metrics as floats, receivedAt and seq as integers, ts in ms', () => {
    expect(readingLine(reading({ seq: 9, fields: { waterLevelCm: 120, batteryV: 12.5 } }))).toMatchInlineSnapshot(
      `"water_level,deviceId=wl-tien-01,kind=water_level,ward=my-tho waterLevelCm=120,batteryV=12.5,tsSource="device",receivedAt=1795564800150i,seq=9i 1795564800000"`,
    )
  })
  it('follows a device moved to another ward or kind, though it keeps series keys between readings', () => {
    expect(readingLine(reading({ ward: 'dao-thanh' })).startsWith('water_level,deviceId=wl-tien-01,kind=water_level,ward=my-tho ')).toBe(false)
    expect(readingLine(reading({ ward: 'dao-thanh' })).startsWith('water_level,deviceId=wl-tien-01,kind=water_level,ward=dao-thanh ')).toBe(true)
    expect(readingLine(reading({ kind: 'rain', fields: { rainMm: 1 } })).startsWith('rain,deviceId=wl-tien-01,kind=rain,ward=my-tho rainMm=1,')).toBe(true)
    expect(readingLine(reading({ tsSource: 'broker' }))).toContain(',tsSource="broker",')
  })
})

describe('deadLetterLine', () => {
  it('ns timestamp = receivedAt ms × 1e6 + sequence, exact beyond 2^53', () => {
    const line = deadLetterLine(rejection({ receivedAt: 1_795_564_800_123 }), 999_999)
    expect(line.endsWith(' 1795564800123999999')).toBe(true)
  })
  it('keeps a device id outside the registry pattern out of the tags', () => {
    const line = deadLetterLine(rejection({ deviceId: 'bad id\\' }), 0)
    expect(line.startsWith('dead_letter,code=invalid_reading ')).toBe(true)
    expect(line).toContain('deviceIdText="bad id\\\\\\\\"')
  })
  it('refuses a code that could break the tag set', () => {
    expect(() => deadLetterLine(rejection({ code: 'x y' as never }), 0)).toThrow(/snake_case/)
  })
})

describe('InfluxQL quoting', () => {
  it('quotes identifiers and string literals', () => {
    expect(ident('water"level\\')).toBe('"water\\"level\\\\"')
    expect(literal("it's\\\n")).toBe("'it\\'s\\\\\\n'")
  })
})
