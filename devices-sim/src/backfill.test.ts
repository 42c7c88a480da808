import { describe, expect, it } from 'vitest'
import { DeviceReading, loadRegistryFile } from '@mytho/schema'
import { backfillReadings, backfillTimes, chunkPayloads } from './backfill.ts'

const reg = loadRegistryFile()

describe('backfill readings', () => {
  it('sit on each device’s interval grid, without seq, identical on a rerun', () => {
    const d = reg.get('tc-ql1-trung-luong')!
    const to = Date.UTC(2025, 9, 6, 12, 0, 30)
    const times = backfillTimes(d, to - 3_600_000, to)
    expect(times).toHaveLength(60)
    for (const t of times) expect(t % 60_000).toBe(0)
    const a = backfillReadings(d, 5, to - 3_600_000, to)
    // A later rerun overlapping the window repeats the same (device, ts) points byte for byte.
    const b = backfillReadings(d, 5, to - 1_800_000 - 17_000, to + 600_000)
    const byTs = new Map(b.map((r) => [r.ts, JSON.stringify(r)]))
    const overlap = a.filter((r) => byTs.has(r.ts!))
    expect(overlap.length).toBeGreaterThan(25)
    for (const r of overlap) expect(byTs.get(r.ts!)).toBe(JSON.stringify(r))
    for (const r of a) {
      expect(r.seq).toBeUndefined()
      expect(DeviceReading.safeParse(r).success).toBe(true)
    }
  })

  it('are packed into arrays of at most 500 readings and 60 kB', () => {
    const d = reg.get('tc-ql1-trung-luong')!
    const to = Date.UTC(2025, 9, 6)
    const readings = backfillReadings(d, 1, to - 7 * 86_400_000, to)
    const chunks = chunkPayloads(readings, 500, 60_000)
    expect(chunks.flatMap((c) => JSON.parse(c) as unknown[])).toEqual(readings)
    for (const c of chunks) {
      expect(Buffer.byteLength(c)).toBeLessThanOrEqual(60_000)
      expect((JSON.parse(c) as unknown[]).length).toBeLessThanOrEqual(500)
    }
    expect(chunkPayloads(readings.slice(0, 1200), 500, 1e9).map((c) => (JSON.parse(c) as unknown[]).length)).toEqual([500, 500, 200])
  })
})
