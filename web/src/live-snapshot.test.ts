import { describe, expect, it } from 'vitest'
import { decodeReadings, decodeSnapshot, encodeSnapshot, snapshotColumns, type SnapshotColumns } from '@mytho/schema/live-snapshot'
import type { LiveDeviceState } from './schema.ts'

const devices: LiveDeviceState[] = [
  {
    deviceId: 'wl-hydro-station',
    kind: 'water_level',
    ward: 'my-tho',
    lat: 10.3515,
    lon: 106.3645,
    status: 'warning',
    lastSeen: 1_795_670_000_123,
    connection: 'online',
    lastReading: {
      deviceId: 'wl-hydro-station',
      kind: 'water_level',
      ward: 'my-tho',
      ts: 1_795_670_000_000,
      tsSource: 'device',
      receivedAt: 1_795_670_000_123,
      fields: { waterLevelCm: 152.5 },
    },
  },
  {
    deviceId: 'aq-trung-an',
    kind: 'air_quality',
    ward: 'trung-an',
    lat: 10.3900001,
    lon: 106.3000002,
    status: 'never_seen',
    lastSeen: null,
    connection: null,
    lastReading: null,
  },
  {
    deviceId: 'tc-rach-mieu-span1',
    kind: 'traffic',
    ward: 'thoi-son',
    lat: 10.33,
    lon: 106.34,
    status: 'offline',
    lastSeen: 5,
    connection: 'offline',
    lastReading: null,
  },
]

/** What Socket.IO's parser hands a Node client: the attachment as a Buffer, here at an odd offset of a larger pool. */
function asNodeClientGetsIt(s: SnapshotColumns): SnapshotColumns {
  const bytes = new Uint8Array(s.columns as ArrayBuffer)
  const pool = Buffer.alloc(bytes.length + 3)
  pool.set(bytes, 3)
  return { ...s, columns: pool.subarray(3) }
}

describe('columnar live snapshot (the map’s first render)', () => {
  it('gives back the same devices, readings apart', () => {
    const encoded = encodeSnapshot(devices)
    const back = decodeSnapshot(encoded)
    expect(back.map((d) => d.lastReading)).toEqual([null, null, null])
    const readings = decodeReadings(encoded)
    expect(back.map((d, i) => ({ ...d, lastReading: readings[i] }))).toEqual(devices)
  })

  it('reads the columns from a Buffer at any offset, as a Node client receives them', () => {
    const received = asNodeClientGetsIt(encodeSnapshot(devices))
    expect(decodeSnapshot(received).map((d) => [d.deviceId, d.lat, d.lon, d.status, d.connection, d.lastSeen])).toEqual(
      devices.map((d) => [d.deviceId, d.lat, d.lon, d.status, d.connection, d.lastSeen]),
    )
  })

  it('refuses columns that do not match the ids', () => {
    const encoded = encodeSnapshot(devices)
    expect(() => snapshotColumns({ ...encoded, ids: encoded.ids.slice(1) })).toThrowErrorMatchingInlineSnapshot(
      `[RangeError: snapshot columns of 84 bytes for 2 devices]`,
    )
    expect(() => decodeReadings({ ...encoded, readings: '[null]' })).toThrowErrorMatchingInlineSnapshot(
      `[RangeError: snapshot readings do not match its 3 devices]`,
    )
  })

  it('is small: the first snapshot of 10,000 devices carries 28 bytes of columns per device besides its ids', () => {
    const many = Array.from({ length: 10_000 }, (_, i): LiveDeviceState => ({ ...devices[i % 3]!, deviceId: `bench-${i}`, lastReading: null }))
    const encoded = encodeSnapshot(many)
    expect((encoded.columns as ArrayBuffer).byteLength).toBe(280_000)
    expect(JSON.stringify({ ...encoded, columns: null }).length).toBeLessThan(JSON.stringify(many).length / 5)
  })
})
