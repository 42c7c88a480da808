import { describe, expect, it } from 'vitest'
import { fnv1a32, parsePartitionClientId, partitionClientId, partitionOf } from './partitions.ts'
import { loadRegistryFile } from './index.ts'

describe('ingest partitions', () => {
  it('hashes with FNV-1a (reference vectors)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5)
    expect(fnv1a32('a')).toBe(0xe40c292c)
    expect(fnv1a32('foobar')).toBe(0xbf9cf968)
  })

  it('spreads the seed fleet over 8 partitions', () => {
    const counts = new Array<number>(8).fill(0)
    for (const d of loadRegistryFile().devices) counts[partitionOf(d.id, 8)]!++
    expect(Math.min(...counts)).toBeGreaterThan(0)
  })

  it('names a partition session and reads the name back', () => {
    expect(partitionClientId('mytho-ingest', 3, 8)).toBe('mytho-ingest-p3of8')
    expect(partitionClientId('mytho-ingest', 3, 16)).toBe('mytho-ingest-p03of16')
    expect(parsePartitionClientId('mytho-ingest-p03of16')).toEqual({ index: 3, partitions: 16 })
    expect(parsePartitionClientId('mytho-ingest')).toBeUndefined()
    expect(parsePartitionClientId('x-p8of8')).toBeUndefined()
    expect(parsePartitionClientId('x-p0of0')).toBeUndefined()
  })
})
