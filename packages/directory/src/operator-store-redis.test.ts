import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { startRedisServer, type RedisServer } from '@mytho/testing'
import { dumpKeys } from './meta-redis.test-helpers.ts'
import type { OperatorStore } from './operator-store.ts'
import { openRedisOperatorStore } from './operator-store-redis.ts'
import { runOperatorStoreContract } from './operator-store.test-suite.ts'

let server: RedisServer
beforeAll(async () => {
  server = await startRedisServer()
})
afterAll(() => server?.stop())

let n = 0
const client = () => {
  const r = new Redis(server.url)
  onTestFinished(() => void r.disconnect())
  return r
}

runOperatorStoreContract('Redis', async () => {
  const prefix = `test${++n}:meta:`
  const stores: OperatorStore[] = []
  onTestFinished(async () => {
    for (const s of stores) await s.close()
  })
  return {
    open() {
      const s = openRedisOperatorStore(server.url, { prefix })
      stores.push(s)
      return s
    },
    dump: () => dumpKeys(client(), prefix),
  }
})

describe('operator store on Redis', () => {
  it('lets Redis expire a session with its lifetime, the index of its sessions no sooner', async () => {
    const prefix = `ttl${++n}:meta:`
    const s = openRedisOperatorStore(server.url, { prefix })
    onTestFinished(() => s.close())
    await s.create('op1', 'correct horse battery staple', 'operator', 1000)
    await s.openSession('op1', 3_600_000, Date.now())
    const r = client()
    const [session] = await r.keys(`${prefix}session:*`)
    expect(await r.pttl(session!)).toBeGreaterThan(3_590_000)
    expect(await r.pttl(`${prefix}operator-sessions:op1`)).toBeGreaterThan(3_590_000)
    await s.openSession('op1', 60_000, Date.now())
    expect(await r.pttl(`${prefix}operator-sessions:op1`)).toBeGreaterThan(3_500_000)
  })
})
