import { Redis } from 'ioredis'
import { afterAll, beforeAll, onTestFinished } from 'vitest'
import { startRedisServer, type RedisServer } from '@mytho/testing'
import type { AgencyKeyStore } from './agency-keys.ts'
import { openRedisAgencyKeyStore } from './agency-keys-redis.ts'
import { runAgencyKeyContract } from './agency-keys.test-suite.ts'
import { dumpKeys } from './meta-redis.test-helpers.ts'

let server: RedisServer
beforeAll(async () => {
  server = await startRedisServer()
})
afterAll(() => server?.stop())

let n = 0
runAgencyKeyContract('Redis', async () => {
  const prefix = `agency${++n}:meta:`
  const stores: AgencyKeyStore[] = []
  onTestFinished(async () => {
    for (const s of stores) await s.close()
  })
  return {
    open() {
      const s = openRedisAgencyKeyStore(server.url, { prefix })
      stores.push(s)
      return s
    },
    async dump() {
      const r = new Redis(server.url)
      onTestFinished(() => void r.disconnect())
      return dumpKeys(r, prefix)
    },
  }
})
