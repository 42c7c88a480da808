import { Redis } from 'ioredis'
import { afterAll, beforeAll, onTestFinished } from 'vitest'
import { startRedisServer, type RedisServer } from '@mytho/testing'
import type { CredentialStore } from './credential-store.ts'
import { openRedisCredentialStore } from './credential-store-redis.ts'
import { runCredentialStoreContract } from './credential-store.test-suite.ts'
import { dumpKeys } from './meta-redis.test-helpers.ts'

let server: RedisServer
beforeAll(async () => {
  server = await startRedisServer()
})
afterAll(() => server?.stop())

let n = 0
runCredentialStoreContract('Redis', async () => {
  // Each test on its own key prefix: a clean slate without flushing what a parallel test uses.
  const prefix = `test${++n}:meta:`
  const stores: CredentialStore[] = []
  onTestFinished(async () => {
    for (const s of stores) await s.close()
  })
  return {
    open(options) {
      const s = openRedisCredentialStore(server.url, { ...options, prefix })
      stores.push(s)
      return s
    },
    dump: async () => {
      const r = new Redis(server.url)
      try {
        return await dumpKeys(r, prefix)
      } finally {
        r.disconnect()
      }
    },
  }
})
