import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { StoredReading } from '@mytho/schema'
import { makeTempDir } from '@mytho/testing'
import { openSpool } from './spool.ts'

const reading = (ts: number): StoredReading => ({
  deviceId: 'wl-bd-my-tho',
  kind: 'water_level',
  ward: 'my-tho',
  ts,
  receivedAt: ts + 5,
  tsSource: 'device',
  fields: { waterLevelCm: 150 },
})

describe('spool', () => {
  const dirs: { cleanup(): void }[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) d.cleanup()
  })
  const path = () => {
    const d = makeTempDir('mytho-spool-')
    dirs.push(d)
    return join(d.path, 'spool.sqlite')
  }

  it('keeps batches in order across a reopen, merges them for one write, and removes what was written', () => {
    const file = path()
    const a = openSpool({ path: file, maxItems: 100 })
    expect(a.append([reading(1), reading(2)], [])).toBe(true)
    expect(a.append([reading(3)], [])).toBe(true)
    a.close()

    const b = openSpool({ path: file, maxItems: 100 })
    expect({ items: b.items, batches: b.batches, oldest: b.oldestReceivedAt }).toEqual({ items: 3, batches: 2, oldest: 6 })
    const first = b.peek(2)!
    expect(first.readings.map((r) => r.ts)).toEqual([1, 2]) // the second batch would pass 2 items
    const both = b.peek()!
    expect(both.readings.map((r) => r.ts)).toEqual([1, 2, 3])
    b.remove(first.id)
    expect({ items: b.items, oldest: b.oldestReceivedAt }).toEqual({ items: 1, oldest: 8 })
    b.remove(both.id)
    expect(b.peek()).toBeUndefined()
    b.close()
  })

  it('refuses a batch past its bound, but takes any batch into an empty spool', () => {
    const s = openSpool({ path: path(), maxItems: 2 })
    expect(s.append([reading(1), reading(2), reading(3)], [])).toBe(true)
    expect(s.append([reading(4)], [])).toBe(false)
    expect(s.items).toBe(3)
    s.remove(s.peek()!.id)
    expect(s.append([reading(4)], [])).toBe(true)
    s.close()
  })
})
