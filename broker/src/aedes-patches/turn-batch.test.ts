import { Redis } from 'ioredis'
import { startRedisServer } from '@mytho/testing'
import { expect, it } from 'vitest'
import { batchPerTurn, packParts, READ_PARTS } from './turn-batch.ts'

it("a turn's steps reach the Lua script as their parts, in order: text (any UTF-8), empty parts and bytes", async () => {
  const redis = await startRedisServer()
  const conn = new Redis(redis.url, { lazyConnect: true })
  try {
    await conn.connect()
    conn.defineCommand('echoParts', { numberOfKeys: 0, lua: `${READ_PARTS}local out = {}\nwhile moreParts() do out[#out + 1] = nextPart() end\nreturn out` })
    const call = (frame: Buffer) => (conn as Redis & { echoPartsBuffer(frame: Buffer): Promise<Buffer[]> }).echoPartsBuffer(frame)
    const bytes = Buffer.from([0, 0xc1, 0xff, 0x0d, 0x0a, 0])
    const big = Buffer.alloc(70_000, 7)
    expect(await call(packParts(['E', 'cảm-biến/mực-nước/🌊', '', bytes, big]))).toEqual([
      Buffer.from('E'),
      Buffer.from('cảm-biến/mực-nước/🌊'),
      Buffer.alloc(0),
      bytes,
      big,
    ])
    // Steps made in one turn go out as one call, in order; each step's promise is that call's.
    const calls: Buffer[][] = []
    const step = batchPerTurn(async (frame) => {
      const parts = await call(frame)
      calls.push(parts)
      return parts.length
    })
    const results = await Promise.all([step(['a', 'b']), step(['c']), step([Buffer.from('d')])])
    expect(results).toEqual([4, 4, 4])
    expect(calls.map((c) => c.map(String))).toEqual([['a', 'b', 'c', 'd']])
  } finally {
    conn.disconnect()
    await redis.stop()
  }
})

it("tells each step's callback how its call went; a failed call with no one waiting on it is no unhandled rejection", async () => {
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => unhandled.push(reason)
  process.on('unhandledRejection', onUnhandled)
  try {
    let fail = false
    const step = batchPerTurn(async () => {
      if (fail) throw new Error('redis went away')
    })
    const ok: (Error | null | undefined)[] = []
    await new Promise<void>((resolve) => {
      step(['a'], (err) => ok.push(err))
      step(['b'], (err) => {
        ok.push(err)
        resolve()
      })
    })
    expect(ok).toEqual([undefined, undefined])

    fail = true
    step(['fire and forget'])
    const failed = await new Promise<Error | null | undefined>((resolve) => step(['c'], resolve))
    expect(failed?.message).toBe('redis went away')
    // Unhandled rejections are reported after the microtask queue drains: give them a turn to show.
    await new Promise((resolve) => setImmediate(resolve))
    await new Promise((resolve) => setImmediate(resolve))
    expect(unhandled).toEqual([])
  } finally {
    process.off('unhandledRejection', onUnhandled)
  }
})
