import { describe, expect, it } from 'vitest'
import { hexDump, looksLikeText, payloadSegments } from './payload.ts'
import { localInputToMs, msToLocalInput, rangeOf } from './period.ts'

describe('a dead letter payload shown as text', () => {
  it('marks control, invisible and direction characters and U+FFFD as escapes; keeps Vietnamese, newlines and markup as text', () => {
    expect(payloadSegments('Mực nước\n<b>\x07\u202e\ufffd\\x41')).toEqual([
      { text: 'Mực nước\n<b>', escaped: false },
      { text: '\\x07', escaped: true },
      { text: '\\u{202E}', escaped: true },
      { text: '\\u{FFFD}', escaped: true },
      { text: '\\x41', escaped: false },
    ])
    expect(payloadSegments('')).toEqual([])
  })

  it('is shown as hex when most of it is not text', () => {
    expect(looksLikeText('{"kind":"rain","rainMm":1}\x07')).toBe(true)
    expect(looksLikeText('\ufffd\ufffd')).toBe(false)
    expect(hexDump('\ufffd{')).toBe('0000  ef bf bd 7b')
    expect(hexDump('a'.repeat(17)).split('\n')).toEqual([`0000  ${'61 '.repeat(15)}61`, '0010  61'])
  })
})

describe('local times of the filters (UTC+7 whatever the browser zone)', () => {
  it('reads and writes datetime-local values as Mỹ Tho time', () => {
    expect(localInputToMs('2026-12-05T07:00')).toBe(Date.UTC(2026, 11, 5, 0, 0))
    expect(msToLocalInput(Date.UTC(2026, 11, 5, 0, 0))).toBe('2026-12-05T07:00')
    expect(localInputToMs('05/12/2026')).toBeUndefined()
    expect(rangeOf('range', 0, '2026-12-05T08:00', '2026-12-05T07:00')).toBeUndefined()
    expect(rangeOf('24h', 100 * 3600_000)).toEqual({ from: 76 * 3600_000, to: 100 * 3600_000 })
  })
})
