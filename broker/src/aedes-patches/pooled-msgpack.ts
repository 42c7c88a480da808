/*
 * msgpack-lite's `encode` (0.1.27, the copy aedes-persistence-redis and mqemitter-redis load) starts every call
 * with a fresh zero-filled 2 KiB Buffer and returns a slice of it: three encodes per QoS 1 message on a Redis
 * node made ~6 KiB of garbage per message, and garbage collection a quarter of the broker's CPU in
 * platform/bench/cluster.ts. One encoder kept across calls writes packet after packet into the same buffer
 * (growing to 64 KiB), as Node's own Buffer pool does; a returned slice stays valid because later encodes only
 * write past it. Same bytes as msgpack.encode, so the libraries' own decoders read them. An Aedes packet, a flat record,
 * is written by hand (createPooledEncoder below); anything else by msgpack-lite's encoder.
 * Written against the versions in aedes-version.test.ts; re-check it when they change.
 */
import { createRequire } from 'node:module'

const fromLibrary = createRequire(createRequire(import.meta.url).resolve('aedes-persistence-redis'))

interface Encoder {
  codec: { getExtPacker(value: object): unknown }
  write(value: unknown): void
  send(bytes: Buffer): void
  read(): Buffer | undefined
}
const { EncodeBuffer } = fromLibrary('msgpack-lite/lib/encode-buffer') as { EncodeBuffer: new () => Encoder }

/** msgpack-lite's decode, the copy the libraries use. */
export const decode = (fromLibrary('msgpack-lite') as { decode(bytes: Buffer): unknown }).decode

const SLAB = 64 * 1024
/** msgpack str bytes of the keys seen (a packet's dozen names), so each is a copy, not an encode. */
const keyBytes = new Map<string, Buffer>()

/**
 * msgpack.encode(value) with `prefix` (raw bytes) before it, written into a shared buffer.
 * A flat record (an Aedes packet: strings, numbers, booleans, nil, Buffers; at most 15 keys) is written here, byte for
 * byte as msgpack-lite writes it (its quirks too: bin 8 only below 255 bytes, any number outside int32 as a float 64),
 * in ~1.2 µs instead of msgpack-lite's ~2.1 µs (a micro-benchmark), two per message on a cluster node (issue #20). Anything else goes
 * to msgpack-lite's own encoder. pooled-msgpack.test.ts compares the two byte for byte.
 */
export function createPooledEncoder(): (value: unknown, prefix?: Buffer) => Buffer {
  let encoder = new EncodeBuffer()
  let slab = Buffer.allocUnsafe(SLAB)
  let at = 0

  const key = (name: string): Buffer => {
    let bytes = keyBytes.get(name)
    if (bytes === undefined) {
      const text = Buffer.from(name)
      const head = strHeadSize(text.length)
      bytes = Buffer.allocUnsafe(head + text.length)
      writeStrHead(bytes, 0, text.length)
      text.copy(bytes, head)
      if (keyBytes.size < 1024) keyBytes.set(name, bytes)
    }
    return bytes
  }

  const writeString = (text: string): void => {
    const length = text.length
    if (length <= 0xff) {
      // Short ASCII (topics, ids, names) byte by byte: a Buffer.write call costs more than the copy.
      const head = strHeadSize(length)
      let i = 0
      for (; i < length; i++) {
        const c = text.charCodeAt(i)
        if (c > 0x7f) break
        slab[at + head + i] = c
      }
      if (i === length) {
        writeStrHead(slab, at, length)
        at += head + length
        return
      }
    }
    // Written after the largest head, then moved down to the head its UTF-8 length needs.
    const n = slab.write(text, at + 5)
    const head = strHeadSize(n)
    if (head !== 5) slab.copyWithin(at + head, at + 5, at + 5 + n)
    writeStrHead(slab, at, n)
    at += head + n
  }

  const writeNumber = (v: number): void => {
    const i = v | 0
    if (v !== i) {
      slab[at] = 0xcb
      slab.writeDoubleBE(v, at + 1)
      at += 9
    } else if (i >= -0x20 && i <= 0x7f) slab[at++] = i & 0xff
    else if (i >= 0) {
      if (i <= 0xff) (slab[at] = 0xcc), (slab[at + 1] = i), (at += 2)
      else if (i <= 0xffff) (slab[at] = 0xcd), slab.writeUInt16BE(i, at + 1), (at += 3)
      else (slab[at] = 0xce), slab.writeUInt32BE(i, at + 1), (at += 5)
    } else if (i >= -0x80) (slab[at] = 0xd0), slab.writeInt8(i, at + 1), (at += 2)
    else if (i >= -0x8000) (slab[at] = 0xd1), slab.writeInt16BE(i, at + 1), (at += 3)
    else (slab[at] = 0xd2), slab.writeInt32BE(i, at + 1), (at += 5)
  }

  /** The bytes of a flat record, or undefined (nothing written) when it is not one. */
  const flat = (value: object, prefix: Buffer | undefined): Buffer | undefined => {
    const names = Object.keys(value)
    if (names.length > 15) return undefined
    const record = value as Record<string, unknown>
    let size = 1 + (prefix?.length ?? 0)
    for (const name of names) {
      const v = record[name]
      size += 5 + name.length * 3
      switch (typeof v) {
        case 'string':
          size += 5 + v.length * 3
          break
        case 'number':
          size += 9
          break
        case 'object':
          if (v === null) size += 1
          else if (Buffer.isBuffer(v)) size += 5 + v.length
          else return undefined
          break
        case 'bigint':
          return undefined
        default: // boolean, undefined, function, symbol: one byte
          size += 1
      }
    }
    if (at + size > slab.length) {
      slab = Buffer.allocUnsafe(Math.max(SLAB, size))
      at = 0
    }
    const start = at
    if (prefix) at += prefix.copy(slab, at)
    slab[at++] = 0x80 + names.length
    for (const name of names) {
      const k = key(name)
      for (let i = 0; i < k.length; i++) slab[at + i] = k[i]!
      at += k.length
      const v = record[name]
      switch (typeof v) {
        case 'string':
          writeString(v)
          break
        case 'number':
          writeNumber(v)
          break
        case 'boolean':
          slab[at++] = v ? 0xc3 : 0xc2
          break
        case 'object':
          if (v === null) slab[at++] = 0xc0
          else {
            const bytes = v as Buffer
            const n = bytes.length
            if (n < 0xff) (slab[at] = 0xc4), (slab[at + 1] = n), (at += 2)
            else if (n <= 0xffff) (slab[at] = 0xc5), slab.writeUInt16BE(n, at + 1), (at += 3)
            else (slab[at] = 0xc6), slab.writeUInt32BE(n, at + 1), (at += 5)
            if (n < 64) for (let i = 0; i < n; i++) slab[at + i] = bytes[i]!
            else bytes.copy(slab, at)
            at += n
          }
          break
        default:
          slab[at++] = 0xc0
      }
    }
    return slab.subarray(start, at)
  }

  return (value, prefix) => {
    // Not an array, a Buffer or a value msgpack-lite writes as an extension (a Date, a RegExp, a typed array…).
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value) && !encoder.codec.getExtPacker(value)) {
      const bytes = flat(value, prefix)
      if (bytes) return bytes
    }
    try {
      if (prefix) encoder.send(prefix)
      encoder.write(value)
      return encoder.read() ?? Buffer.alloc(0)
    } catch (err) {
      // A value msgpack cannot encode leaves half a record in the buffer: start a clean one.
      encoder = new EncodeBuffer()
      throw err
    }
  }
}

/** Bytes of a msgpack str head for `n` bytes of UTF-8: fixstr, str 8, str 16, str 32. */
function strHeadSize(n: number): number {
  return n < 32 ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : 5
}

function writeStrHead(buf: Buffer, pos: number, n: number): void {
  if (n < 32) buf[pos] = 0xa0 + n
  else if (n <= 0xff) (buf[pos] = 0xd9), (buf[pos + 1] = n)
  else if (n <= 0xffff) (buf[pos] = 0xda), buf.writeUInt16BE(n, pos + 1)
  else (buf[pos] = 0xdb), buf.writeUInt32BE(n, pos + 1)
}
