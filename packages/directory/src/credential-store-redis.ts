import type { Redis } from 'ioredis'
import { createLoginCache, hashForStore, type CredentialRole, type CredentialStore, type CredentialStoreOptions } from './credential-store.ts'
import { luaScript, metaRedis, type MetaRedisOptions } from './meta-redis.ts'

/** One hash per login: role, hash (scrypt$…), disabled ('0'|'1'), updatedAt (epoch ms). */
export const credentialKey = (prefix: string, username: string): string => `${prefix}cred:${username}`

const ADD_IF_ABSENT = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'role', ARGV[1], 'hash', ARGV[2], 'disabled', '0', 'updatedAt', ARGV[3])
return 1`)

// HSET alone would create a row holding only the flag for an unknown name.
const SET_DISABLED = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'disabled', ARGV[1], 'updatedAt', ARGV[2])
return 1`)

/**
 * The credential store on the cluster's Redis: every broker node authenticates against the same rows, and
 * an API node on any host provisions them. The row is read at every CONNECT (one HMGET), so a secret
 * rotated or a device disabled through any node is refused at its next CONNECT on every node: the login
 * cache of each node keeps the hash a login was checked against, and a new hash is a miss (createLoginCache).
 */
export function openRedisCredentialStore(target: Redis | string, options: CredentialStoreOptions & MetaRedisOptions = {}): CredentialStore {
  const { redis, prefix, release } = metaRedis(target, options)
  const key = (username: string) => credentialKey(prefix, username)
  const cache = createLoginCache(options.cacheEntries ?? 50_000)
  let closed = false
  const hashFor = (username: string, secret: string) => hashForStore(() => closed, username, secret)

  return {
    stats: cache.stats,

    async setSecret(username, role, secret) {
      const hash = await hashFor(username, secret)
      // `disabled` is left as it is (absent on a new row reads as enabled).
      await redis.hset(key(username), 'role', role, 'hash', hash, 'updatedAt', Date.now())
      cache.forget(username)
    },

    async addSecret(username, role, secret) {
      return (await ADD_IF_ABSENT(redis, [key(username)], [role, await hashFor(username, secret), Date.now()])) === 1
    },

    async verify(username, password) {
      const [hash, disabled] = await redis.hmget(key(username), 'hash', 'disabled')
      return cache.check(username, hash ? { scryptHash: hash, disabled: disabled === '1' } : undefined, password)
    },

    has: async (username) => (await redis.exists(key(username))) === 1,

    async roleOf(username) {
      const role = await redis.hget(key(username), 'role')
      return role === 'device' || role === 'service' ? (role satisfies CredentialRole) : undefined
    },

    async setDisabled(username, disabled) {
      cache.forget(username)
      return (await SET_DISABLED(redis, [key(username)], [disabled ? '1' : '0', Date.now()])) === 1
    },

    async close() {
      if (closed) return
      closed = true
      cache.clear()
      await release()
    },
  }
}
