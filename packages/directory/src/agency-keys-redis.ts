import type Database from 'better-sqlite3'
import type { Redis } from 'ioredis'
import type { AgencyKeyUse, AgencyKeyView, NgsiSubscription } from '@mytho/schema'
import {
  AGENCY_KEY_USES_KEPT,
  DELIVERY_CLAIM_MS,
  agencyKeyHash,
  agencyKeyIdOf,
  agencyKeyMatches,
  newAgencyKey,
  recordOfInput,
  usable,
  viewOf,
  type AgencyKeyStore,
  type StoredSubscription,
} from './agency-keys.ts'
import { luaScript, metaRedis, type MetaRedisOptions } from './meta-redis.ts'

/*
 * Keys (prefix mytho:meta:):
 *   agency-keys              sorted set of key ids, score = created at (ms): the list, newest first
 *   agency-key:ID            hash hash (sha256 of the key), record (JSON), createdAt, revokedAt, useCount, lastUsedAt
 *   agency-key-uses:ID       list of use JSON, newest first, trimmed to AGENCY_KEY_USES_KEPT
 *   ngsi-subscriptions       hash subscription id → {keyId, createdAt, subscription} JSON
 *   ngsi-delivery:SUB:EVENT  a notification some node took on (SET NX), expiring after DELIVERY_CLAIM_MS
 */

// Counted only for a key that exists, so a stray id cannot make a row without a hash.
const RECORD_USE = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'useCount', 1)
local last = tonumber(redis.call('HGET', KEYS[1], 'lastUsedAt') or '0')
if tonumber(ARGV[1]) > last then redis.call('HSET', KEYS[1], 'lastUsedAt', ARGV[1]) end
redis.call('LPUSH', KEYS[2], ARGV[2])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) - 1)
return 1`)

const REVOKE = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSETNX', KEYS[1], 'revokedAt', ARGV[1])
return 1`)

// KEYS: the subscriptions hash. ARGV: id, keyId, the new subscription JSON. Read, owner check and write in one step,
// so a PATCH racing a DELETE on another node cannot bring the subscription back.
const UPDATE_SUBSCRIPTION = luaScript(`
local j = redis.call('HGET', KEYS[1], ARGV[1])
if not j then return 0 end
local stored = cjson.decode(j)
if stored.keyId ~= ARGV[2] then return 0 end
-- The body goes in as sent: a cjson round trip would turn an empty array into an object.
redis.call('HSET', KEYS[1], ARGV[1], '{"keyId":' .. cjson.encode(stored.keyId) .. ',"createdAt":' .. string.format('%d', stored.createdAt) .. ',"subscription":' .. ARGV[3] .. '}')
return 1`)

const FIELDS = ['hash', 'record', 'createdAt', 'revokedAt', 'useCount', 'lastUsedAt'] as const

/** The keys above, for this store and for the one-shot copy from meta.sqlite (meta-migration.ts). */
export const agencyKeyKeys = (p: string) => ({
  all: `${p}agency-keys`,
  key: (id: string) => `${p}agency-key:${id}`,
  uses: (id: string) => `${p}agency-key-uses:${id}`,
  subs: `${p}ngsi-subscriptions`,
  claim: (subscriptionId: string, event: string) => `${p}ngsi-delivery:${subscriptionId}:${event}`,
})

/**
 * Copies meta.sqlite's agency keys (hash, record, counters) and subscriptions into Redis, keeping what Redis has.
 * The use logs stay in the file (the counts travel). Returns how many of each were added.
 */
export async function copyAgencyKeysToRedis(db: Database.Database, redis: Redis, p: string): Promise<{ agencyKeys: number; subscriptions: number }> {
  const keys = agencyKeyKeys(p)
  const out = { agencyKeys: 0, subscriptions: 0 }
  type Row = { id: string; key_hash: string; record: string; created_at: number; revoked_at: number | null; use_count: number; last_used_at: number | null }
  for (const r of db.prepare('SELECT id, key_hash, record, created_at, revoked_at, use_count, last_used_at FROM agency_keys').all() as Row[]) {
    if (await redis.exists(keys.key(r.id))) continue
    const fields: Record<string, string | number> = { hash: r.key_hash, record: r.record, createdAt: r.created_at, useCount: r.use_count }
    if (r.revoked_at !== null) fields['revokedAt'] = r.revoked_at
    if (r.last_used_at !== null) fields['lastUsedAt'] = r.last_used_at
    await redis.multi().hset(keys.key(r.id), fields).zadd(keys.all, r.created_at, r.id).exec()
    out.agencyKeys++
  }
  for (const r of db.prepare('SELECT id, key_id, body, created_at FROM ngsi_subscriptions').all() as {
    id: string
    key_id: string
    body: string
    created_at: number
  }[])
    out.subscriptions += await redis.hsetnx(keys.subs, r.id, JSON.stringify({ keyId: r.key_id, createdAt: r.created_at, subscription: JSON.parse(r.body) }))
  return out
}

/** Agency keys and subscriptions on the cluster's Redis: a key issued or revoked on one API node holds on every node. */
export function openRedisAgencyKeyStore(target: Redis | string, options: MetaRedisOptions = {}): AgencyKeyStore {
  const { redis, prefix: p, release } = metaRedis(target, options)
  const keys = agencyKeyKeys(p)
  const read = async (id: string): Promise<{ hash: string; view: AgencyKeyView } | undefined> => {
    const [hash, record, createdAt, revokedAt, useCount, lastUsedAt] = await redis.hmget(keys.key(id), ...FIELDS)
    if (!hash || !record) return undefined
    const num = (v: string | null | undefined) => (v === null || v === undefined ? null : Number(v))
    return {
      hash,
      view: viewOf(id, JSON.parse(record), {
        createdAt: Number(createdAt),
        revokedAt: num(revokedAt),
        useCount: Number(useCount ?? 0),
        lastUsedAt: num(lastUsedAt),
      }),
    }
  }
  let closed: Promise<void> | undefined
  return {
    async create(input, now) {
      const { id, key } = newAgencyKey()
      await redis
        .multi()
        .hset(keys.key(id), { hash: agencyKeyHash(key), record: JSON.stringify(recordOfInput(input)), createdAt: now, useCount: 0 })
        .zadd(keys.all, now, id)
        .exec()
      return { key, agencyKey: (await read(id))!.view }
    },
    async list() {
      const ids = await redis.zrevrange(keys.all, 0, -1)
      const out: AgencyKeyView[] = []
      for (const id of ids) {
        const r = await read(id)
        if (r) out.push(r.view)
      }
      return out
    },
    get: async (id) => (await read(id))?.view,
    async authenticate(presented, now) {
      const id = agencyKeyIdOf(presented)
      const r = id === undefined ? undefined : await read(id)
      if (!r || !agencyKeyMatches(presented, r.hash)) return undefined
      return usable(r.view, now) ? r.view : undefined
    },
    async revoke(id, now) {
      await REVOKE(redis, [keys.key(id)], [now])
      return (await read(id))?.view
    },
    async recordUse(id, use) {
      await RECORD_USE(redis, [keys.key(id), keys.uses(id)], [use.ts, JSON.stringify(use), AGENCY_KEY_USES_KEPT])
    },
    async uses(id, limit) {
      return (await redis.lrange(keys.uses(id), 0, limit - 1)).map((j) => JSON.parse(j) as AgencyKeyUse)
    },
    async addSubscription(keyId, subscription, now) {
      return (await redis.hsetnx(keys.subs, subscription.id, JSON.stringify({ keyId, createdAt: now, subscription }))) === 1
    },
    async subscriptions(keyId) {
      const all = Object.values(await redis.hgetall(keys.subs)).map((j) => JSON.parse(j) as StoredSubscription & { createdAt: number })
      return all
        .filter((s) => keyId === undefined || s.keyId === keyId)
        .sort((a, b) => a.createdAt - b.createdAt || (a.subscription.id < b.subscription.id ? -1 : 1))
        .map(({ keyId: k, subscription }) => ({ keyId: k, subscription: subscription as NgsiSubscription }))
    },
    async updateSubscription(keyId, subscription) {
      return Number(await UPDATE_SUBSCRIPTION(redis, [keys.subs], [subscription.id, keyId, JSON.stringify(subscription)])) === 1
    },
    async deleteSubscription(keyId, id) {
      const j = await redis.hget(keys.subs, id)
      if (j === null || (JSON.parse(j) as StoredSubscription).keyId !== keyId) return false
      return (await redis.hdel(keys.subs, id)) === 1
    },
    async claimDelivery(subscriptionId, event) {
      return (await redis.set(keys.claim(subscriptionId, event), '1', 'PX', DELIVERY_CLAIM_MS, 'NX')) === 'OK'
    },
    close: () => (closed ??= release()),
  }
}
