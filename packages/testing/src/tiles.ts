import { deflateSync } from 'node:zlib'
import Database from 'better-sqlite3'

/*
 * Map tiles made in the test itself (issue #21: the map draws from a local file with the network off): a PNG
 * encoder small enough to read, and an MBTiles writer as QGIS and GDAL lay the file out.
 */

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
function crc32(b: Buffer): number {
  let c = 0xffffffff
  for (const byte of b) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}
function chunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([len, body, crc])
}

/** A 256×256 PNG of one colour with a darker 8 px border, so tiles are told apart in a screenshot. */
export function pngTile(rgb: readonly [number, number, number], size = 256): Buffer {
  const row = Buffer.alloc(1 + size * 3)
  const rows: Buffer[] = []
  for (let y = 0; y < size; y++) {
    row[0] = 0 // filter: none
    for (let x = 0; x < size; x++) {
      const edge = x < 8 || y < 8 || x >= size - 8 || y >= size - 8
      for (let i = 0; i < 3; i++) row[1 + x * 3 + i] = edge ? Math.round(rgb[i]! * 0.6) : rgb[i]!
    }
    rows.push(Buffer.from(row))
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(size, 0)
  ihdr.writeUInt32BE(size, 4)
  ihdr.set([8, 2, 0, 0, 0], 8) // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

/** Slippy-map tile (XYZ, y from the north) holding a point. */
export function tileOf(lat: number, lon: number, z: number): { x: number; y: number } {
  const n = 2 ** z
  const rad = (lat * Math.PI) / 180
  return { x: Math.floor(((lon + 180) / 360) * n), y: Math.floor(((1 - Math.log(Math.tan(rad) + 1 / Math.cos(rad)) / Math.PI) / 2) * n) }
}

/** Writes an MBTiles file: `tiles` keyed by XYZ z/x/y (stored as TMS rows, as the format says), `metadata` as given. */
export function writeMbtiles(path: string, tiles: { z: number; x: number; y: number; data: Buffer }[], metadata: Record<string, string>): void {
  const db = new Database(path)
  try {
    db.exec('CREATE TABLE metadata (name TEXT, value TEXT); CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);')
    db.exec('CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)')
    const meta = db.prepare('INSERT INTO metadata VALUES (?, ?)')
    for (const [k, v] of Object.entries(metadata)) meta.run(k, v)
    const put = db.prepare('INSERT INTO tiles VALUES (?, ?, ?, ?)')
    db.transaction(() => {
      for (const t of tiles) put.run(t.z, t.x, 2 ** t.z - 1 - t.y, t.data)
    })()
  } finally {
    db.close()
  }
}
