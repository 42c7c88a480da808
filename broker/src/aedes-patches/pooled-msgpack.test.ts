import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { createPooledEncoder, decode } from './pooled-msgpack.ts'

const fromLibrary = createRequire(createRequire(import.meta.url).resolve('aedes-persistence-redis'))
const msgpack = fromLibrary('msgpack-lite') as { encode(value: unknown): Buffer }
const { Packet } = fromLibrary('aedes-persistence') as { Packet: new (packet: object, broker?: object) => object }

/*
 * The libraries (aedes-persistence-redis, mqemitter-redis) read what a cluster node writes with msgpack-lite's decoder,
 * and other nodes may still write with msgpack-lite itself: the pooled encoder must give its bytes exactly.
 */
describe('the pooled msgpack encoder', () => {
  const text = (n: number, unit = 'a') => unit.repeat(n)
  const bytes = (n: number) => Buffer.alloc(n, 0xc1)
  const edges: unknown[] = [
    // Strings at every head size, by their UTF-8 length: 31/32 and 255/256 bytes, 2- and 3-byte characters, a lone surrogate.
    ...[0, 31, 32, 255, 256, 65_535, 65_536].map((n) => ({ s: text(n) })),
    ...[10, 11, 85, 86].map((n) => ({ s: text(n, 'ư') })),
    { s: 'Cầu Rạch Miễu 🌊', lone: '\ud83c' },
    // Numbers at every boundary msgpack-lite picks a type by, and those it writes as float 64.
    ...[
      0,
      -0,
      1,
      127,
      128,
      255,
      256,
      65_535,
      65_536,
      2 ** 31 - 1,
      2 ** 31,
      2 ** 32,
      2 ** 53,
      -1,
      -32,
      -33,
      -128,
      -129,
      -32_768,
      -32_769,
      -(2 ** 31),
      -(2 ** 31) - 1,
      1.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
    ].map((n) => ({ n })),
    // Buffers: bin 8 stops below 255 bytes in msgpack-lite.
    ...[0, 1, 254, 255, 256, 65_535, 65_536].map((n) => ({ b: bytes(n) })),
    { t: true, f: false, u: undefined, z: null, fn: () => 1, sym: Symbol('x') },
    // Not flat: msgpack-lite's own encoder.
    { nested: { a: 1 } },
    { list: [1, 'two'] },
    { at: new Date(0) },
    Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i])),
    [1, 2],
    new Date(0),
    'a string',
    42,
    null,
  ]

  it('writes every value msgpack-lite writes, byte for byte', () => {
    const encode = createPooledEncoder()
    for (const value of edges) expect(encode(value).toString('hex'), String(JSON.stringify(value))?.slice(0, 60)).toBe(msgpack.encode(value).toString('hex'))
  })

  it('writes an Aedes packet as msgpack-lite does, after a prefix, and earlier results stay intact as the buffer fills', () => {
    const encode = createPooledEncoder()
    const prefix = Buffer.from([0xc1, 1, 2, 3])
    const written: [Buffer, Buffer][] = []
    for (let i = 0; i < 3_000; i++) {
      const packet = new Packet(
        { cmd: 'publish', topic: `mytho/v1/devices/wl-${i}/readings`, payload: bytes(i % 300), qos: 1, retain: i % 2 === 0 },
        { id: '7f1c2b9e-node', counter: i * 1000 },
      )
      Object.assign(packet, { clientId: `wl-${i}`, messageId: i % 3 === 0 ? undefined : i })
      written.push([encode(packet, prefix), Buffer.concat([prefix, msgpack.encode(packet)])])
    }
    for (const [ours, theirs] of written) expect(ours.equals(theirs)).toBe(true)
    expect(decode(written[5]![0].subarray(prefix.length))).toMatchObject({ topic: 'mytho/v1/devices/wl-5/readings', brokerCounter: 5001, messageId: 5 })
  })
})
