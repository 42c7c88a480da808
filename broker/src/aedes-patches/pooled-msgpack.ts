/*
 * msgpack-lite's `encode` (0.1.27, the copy aedes-persistence-redis and mqemitter-redis load) starts every call
 * with a fresh zero-filled 2 KiB Buffer and returns a slice of it: three encodes per QoS 1 message on a Redis
 * node made ~6 KiB of garbage per message, and garbage collection a quarter of the broker's CPU in
 * platform/bench/cluster.ts. One encoder kept across calls writes packet after packet into the same buffer
 * (growing to 64 KiB), as Node's own Buffer pool does; a returned slice stays valid because later encodes only
 * write past it. Same bytes as msgpack.encode, so the libraries' own decoders read them.
 * Written against the versions in aedes-version.test.ts; re-check it when they change.
 */
import { createRequire } from 'node:module'

const fromLibrary = createRequire(createRequire(import.meta.url).resolve('aedes-persistence-redis'))

interface Encoder {
  write(value: unknown): void
  send(bytes: Buffer): void
  read(): Buffer | undefined
}
const { EncodeBuffer } = fromLibrary('msgpack-lite/lib/encode-buffer') as { EncodeBuffer: new () => Encoder }

/** msgpack-lite's decode, the copy the libraries use. */
export const decode = (fromLibrary('msgpack-lite') as { decode(bytes: Buffer): unknown }).decode

/** msgpack.encode(value) with `prefix` (raw bytes) before it, written into a shared buffer. */
export function createPooledEncoder(): (value: unknown, prefix?: Buffer) => Buffer {
  let encoder = new EncodeBuffer()
  return (value, prefix) => {
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
