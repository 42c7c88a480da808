import { describe, expect, it } from 'vitest'
import { createInFlightIds } from './in-flight-ids.ts'

describe('the in-flight packet ids of persistent sessions', () => {
  const packet = (n: number) => ({ cmd: 'publish', qos: 1, brokerId: 'b', brokerCounter: n })

  it('gives a PUBACK its queue entry once, per client', () => {
    const ids = createInFlightIds()
    ids.remember('ingest', 7, 'k1', packet(1))
    ids.remember('other', 7, 'k9', packet(9))
    expect(ids.idOf('ingest', 'k1')).toBe(7)
    expect(ids.take('ingest', 7)).toEqual({ key: 'k1', packet: packet(1) })
    expect(ids.take('ingest', 7)).toBeUndefined()
    expect(ids.has('ingest')).toBe(false)
    expect(ids.take('other', 7)?.key).toBe('k9')
    expect(ids.take('ingest', undefined)).toBeUndefined()
  })

  it('forgets the old id of a redelivery, and an old entry whose id is reused', () => {
    const ids = createInFlightIds()
    ids.remember('ingest', 1, 'k1', packet(1))
    ids.remember('ingest', 2, 'k1', packet(1))
    expect(ids.take('ingest', 1)).toBeUndefined()
    expect(ids.idOf('ingest', 'k1')).toBe(2)
    ids.remember('ingest', 2, 'k2', packet(2))
    expect(ids.idOf('ingest', 'k1')).toBeUndefined()
    expect(ids.take('ingest', 2)?.key).toBe('k2')
    expect(ids.has('ingest')).toBe(false)
  })
})
