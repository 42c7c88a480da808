import { deviceKinds, deviceStatuses, wards } from './lists.ts'
import type { LiveDeviceState } from './live-state.ts'
import type { StoredReading } from './stored-reading.ts'
import { connectionStatuses } from './topics.ts'

/*
 * A live snapshot in columns, for the map's first render (issue #4). As an array of LiveDeviceState, 10,000 devices
 * were ~2 MB of JSON that the browser's main thread read in chunks, parsed into 10,000 objects and only then
 * clustered, ~40 ms before the index build could start. In columns, positions and codes travel as one binary
 * attachment (Socket.IO sends an ArrayBuffer as a binary frame, which arrives as an ArrayBuffer: nothing to parse),
 * the ids as one string array, and the last readings, which the first draw does not need, as a JSON string read after it.
 *
 * No zod here (type imports only): the map's first load imports this module.
 */

/** A binary column as it arrives: an ArrayBuffer in a browser, a Buffer (any byte offset) in Node. */
export type Binary = ArrayBuffer | ArrayBufferView

/** One row per device, the same order in every column. */
export interface SnapshotColumns {
  ids: string[]
  /**
   * Every numeric column in one binary attachment (each attachment is a WebSocket message of its own, and each
   * message a task of the browser's main thread, which renders frames in between): for n devices, Float64 lat[n],
   * lon[n] (degrees: exact, so a position compares equal to the same device's later updates), lastSeen[n] (UTC ms,
   * NaN when never seen), then Uint8 kind[n] (index in deviceKinds), ward[n] (index in wards), status[n] (index in
   * deviceStatuses), connection[n] (0 unknown, else 1 + index in connectionStatuses).
   */
  columns: Binary
  /** JSON of (StoredReading | null)[], one per row. A string, so that reading the event does not build these objects. */
  readings: string
}

/** The numeric columns of a snapshot, as typed arrays over its one buffer. */
export interface Columns {
  lat: Float64Array
  lon: Float64Array
  lastSeen: Float64Array
  kind: Uint8Array
  ward: Uint8Array
  status: Uint8Array
  connection: Uint8Array
}

const BYTES_PER_DEVICE = 3 * 8 + 4

function columnsOver(buffer: ArrayBuffer, n: number): Columns {
  return {
    lat: new Float64Array(buffer, 0, n),
    lon: new Float64Array(buffer, 8 * n, n),
    lastSeen: new Float64Array(buffer, 16 * n, n),
    kind: new Uint8Array(buffer, 24 * n, n),
    ward: new Uint8Array(buffer, 25 * n, n),
    status: new Uint8Array(buffer, 26 * n, n),
    connection: new Uint8Array(buffer, 27 * n, n),
  }
}

const indexOf = <T extends string>(list: readonly T[]): Record<T, number> => Object.fromEntries(list.map((v, i) => [v, i])) as Record<T, number>
const kindIndex = indexOf(deviceKinds)
const wardIndex = indexOf(wards)
const statusIndex = indexOf(deviceStatuses)
const connectionIndex = indexOf(connectionStatuses)

export function encodeSnapshot(devices: readonly LiveDeviceState[]): SnapshotColumns {
  const n = devices.length
  const ids = new Array<string>(n)
  const buffer = new ArrayBuffer(n * BYTES_PER_DEVICE)
  const c = columnsOver(buffer, n)
  const readings = new Array<StoredReading | null>(n)
  for (let i = 0; i < n; i++) {
    const d = devices[i]!
    ids[i] = d.deviceId
    c.lat[i] = d.lat
    c.lon[i] = d.lon
    c.lastSeen[i] = d.lastSeen ?? NaN
    c.kind[i] = kindIndex[d.kind]
    c.ward[i] = wardIndex[d.ward]
    c.status[i] = statusIndex[d.status]
    c.connection[i] = d.connection === null ? 0 : 1 + connectionIndex[d.connection]
    readings[i] = d.lastReading
  }
  return { ids, columns: buffer, readings: JSON.stringify(readings) }
}

/**
 * The numeric columns of a received snapshot. The buffer is copied only when Node handed a Buffer at an offset a
 * Float64Array cannot start at. Throws a RangeError when its size does not match the ids.
 */
export function snapshotColumns(s: SnapshotColumns): Columns {
  const n = s.ids.length
  const b = s.columns
  const view = ArrayBuffer.isView(b)
  const buffer = (view ? b.buffer : b) as ArrayBuffer
  const offset = view ? b.byteOffset : 0
  if (b.byteLength !== n * BYTES_PER_DEVICE) throw new RangeError(`snapshot columns of ${b.byteLength} bytes for ${n} devices`)
  return columnsOver(offset === 0 ? buffer : buffer.slice(offset, offset + b.byteLength), n)
}

/**
 * The devices of a columnar snapshot, without their last readings (lastReading null: decodeReadings gives them, so
 * the caller chooses when to pay for them). Throws a RangeError when a column does not match the ids.
 */
export function decodeSnapshot(s: SnapshotColumns, columns: Columns = snapshotColumns(s)): LiveDeviceState[] {
  const n = s.ids.length
  const { lat, lon, kind, ward, status, connection, lastSeen } = columns
  const devices = new Array<LiveDeviceState>(n)
  for (let i = 0; i < n; i++) {
    const seen = lastSeen[i]!
    const c = connection[i]!
    // the same key order as the server's objects: one hidden class for snapshot and update states
    devices[i] = {
      deviceId: s.ids[i]!,
      kind: deviceKinds[kind[i]!]!,
      ward: wards[ward[i]!]!,
      lat: lat[i]!,
      lon: lon[i]!,
      status: deviceStatuses[status[i]!]!,
      lastSeen: Number.isNaN(seen) ? null : seen,
      connection: c === 0 ? null : connectionStatuses[c - 1]!,
      lastReading: null,
    }
  }
  return devices
}

/** The last readings of a columnar snapshot, one per device (null: none yet). */
export function decodeReadings(s: SnapshotColumns): (StoredReading | null)[] {
  const r = JSON.parse(s.readings) as unknown
  if (!Array.isArray(r) || r.length !== s.ids.length) throw new RangeError(`snapshot readings do not match its ${s.ids.length} devices`)
  return r as (StoredReading | null)[]
}
