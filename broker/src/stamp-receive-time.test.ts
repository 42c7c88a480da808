import { describe, expect, it } from 'vitest'
import { stampReceiveTime } from './stamp-receive-time.ts'

const T = 1_750_000_000_000
const stamp = (text: string) => stampReceiveTime(Buffer.from(text), T).toString()

describe('stampReceiveTime', () => {
  it('returns the very same buffer, unparsed, when there is nothing to stamp', () => {
    for (const text of ['{"ts":1,"v":2}', '[{"ts":1},{"ts":2}]', 'online', '42', '', '[1,2]']) {
      const buf = Buffer.from(text)
      expect(stampReceiveTime(buf, T)).toBe(buf)
    }
  })

  it('stamps each reading that lacks ts, and only those', () => {
    expect(stamp('{"kind":"rain","rainMm":0.2}')).toBe(`{"kind":"rain","rainMm":0.2,"rxTs":${T}}`)
    expect(stamp('[{"ts":1,"v":1}, {"v":2} ,{"v":3}]')).toBe(`[{"ts":1,"v":1}, {"v":2,"rxTs":${T}} ,{"v":3,"rxTs":${T}}]`)
    expect(stamp('{}')).toBe(`{"rxTs":${T}}`)
    expect(stamp('[ { } ]')).toBe(`[ { "rxTs":${T}} ]`)
  })

  it('keeps the bytes as sent: number spellings, whitespace, nested objects, braces and escapes inside strings', () => {
    expect(stamp('{"v":1e999, "w":20.50}')).toBe(`{"v":1e999, "w":20.50,"rxTs":${T}}`)
    const tricky = '{"note":"a \\"}\\" { [","meta":{"ts":"nested, not the reading\'s"},"v":1}'
    const out = stamp(tricky)
    expect(out).toBe(`${tricky.slice(0, -1)},"rxTs":${T}}`)
    expect(JSON.parse(out)).toMatchObject({ note: 'a "}" { [', meta: { ts: "nested, not the reading's" }, v: 1, rxTs: T })
    expect(stamp('[[{"v":1}],{"v":2},"{",3]')).toBe(`[[{"v":1}],{"v":2,"rxTs":${T}},"{",3]`)
  })

  it('overrides an rxTs the device wrote itself (the last duplicate key wins in JSON.parse)', () => {
    const out = stamp('{"rxTs":1,"v":1}')
    expect(out).toBe(`{"rxTs":1,"v":1,"rxTs":${T}}`)
    expect(JSON.parse(out).rxTs).toBe(T)
  })

  it('passes anything that is not JSON untouched', () => {
    for (const text of ['{not json', '{"v":1} trailing', '\ufeff{"v":1}', '{"v":NaN}']) {
      const buf = Buffer.from(text)
      expect(stampReceiveTime(buf, T)).toBe(buf)
    }
  })
})
