import type { Redis } from 'ioredis'
import type { AuditEntry, OperatorView, Role } from '@mytho/schema'
import { hashSecret, verifySecret } from './hashing.ts'
import { luaScript, metaRedis, type MetaRedisOptions } from './meta-redis.ts'
import { newCsrfToken, newSessionToken, tokenHash, verifyAgainstNothing, type OperatorStore, type Session } from './operator-store.ts'

/*
 * Keys (prefix mytho:meta:):
 *   operators                     set of operator names (count, list)
 *   operator:NAME                 hash role, hash (scrypt$…), disabled '0'|'1', createdAt, lastSignInAt
 *   session:SHA256(token)         hash username, csrf, expiresAt; expires with the session (PEXPIRE)
 *   operator-sessions:NAME        set of that operator's session hashes, so disabling can end them all
 *   audit:seq                     the last audit id (INCR: one order for every node)
 *   audit:entries                 hash id → entry JSON
 *   audit:all, audit:actor:NAME, audit:action:ACTION   sorted sets of ids (score = id), for paging and filters
 * The scripts build some keys from the prefix inside Lua: one Redis (or a primary with replicas), not Redis Cluster.
 */

const CREATE = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'role', ARGV[2], 'hash', ARGV[3], 'disabled', '0', 'createdAt', ARGV[4])
redis.call('SADD', KEYS[2], ARGV[1])
return 1`)

// The session's key lives as long as the session; the operator's index of them at least as long.
const OPEN_SESSION = luaScript(`
local role = redis.call('HGET', KEYS[1], 'role')
if not role then return false end
redis.call('HSET', KEYS[2], 'username', ARGV[1], 'csrf', ARGV[2], 'expiresAt', ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('SADD', KEYS[3], ARGV[5])
if redis.call('PTTL', KEYS[3]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[3], ARGV[4]) end
redis.call('HSET', KEYS[1], 'lastSignInAt', ARGV[6])
return role`)

// The session and its operator read together: a disabled operator's session is dead even if its key lingers.
const SESSION = luaScript(`
local s = redis.call('HMGET', KEYS[1], 'username', 'csrf', 'expiresAt')
if not s[1] then return false end
local o = redis.call('HMGET', ARGV[1] .. 'operator:' .. s[1], 'role', 'disabled')
if not o[1] or o[2] == '1' then return false end
return { s[1], s[2], s[3], o[1] }`)

const CLOSE_SESSION = luaScript(`
local username = redis.call('HGET', KEYS[1], 'username')
redis.call('DEL', KEYS[1])
if username then redis.call('SREM', ARGV[1] .. 'operator-sessions:' .. username, ARGV[2]) end
return 1`)

// Is KEYS[1]'s operator the last enabled admin? One script reads and writes, so two admins disabling or demoting
// each other at the same moment cannot both succeed. ARGV[2]: the key prefix; KEYS[3]: the set of operator names.
const LAST_ADMIN = `
local function lastAdmin(key, prefix, names)
  local me = redis.call('HMGET', key, 'role', 'disabled')
  if me[1] ~= 'admin' or me[2] == '1' then return false end
  for _, name in ipairs(redis.call('SMEMBERS', names)) do
    local k = prefix .. 'operator:' .. name
    if k ~= key then
      local o = redis.call('HMGET', k, 'role', 'disabled')
      if o[1] == 'admin' and o[2] ~= '1' then return false end
    end
  end
  return true
end
`

const SET_DISABLED = luaScript(`${LAST_ADMIN}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] == '1' and lastAdmin(KEYS[1], ARGV[2], KEYS[3]) then return -1 end
redis.call('HSET', KEYS[1], 'disabled', ARGV[1])
if ARGV[1] == '1' then
  for _, sha in ipairs(redis.call('SMEMBERS', KEYS[2])) do redis.call('DEL', ARGV[2] .. 'session:' .. sha) end
  redis.call('DEL', KEYS[2])
end
return 1`)

const SET_ROLE = luaScript(`${LAST_ADMIN}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] ~= 'admin' and lastAdmin(KEYS[1], ARGV[2], KEYS[2]) then return -1 end
redis.call('HSET', KEYS[1], 'role', ARGV[1])
return 1`)

// ARGV[3]: the sha256 of the session to keep ('' for none).
const SET_PASSWORD = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'hash', ARGV[1])
for _, sha in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if sha ~= ARGV[3] then
    redis.call('DEL', ARGV[2] .. 'session:' .. sha)
    redis.call('SREM', KEYS[2], sha)
  end
end
return 1`)

/** The scripts' answer as a GuardedChange: 1 done, 0 no such operator, -1 the last enabled admin. */
const guarded = (n: unknown) => (n === -1 ? 'last-admin' : n === 1)

const AUDIT = luaScript(`
local id = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], id, cjson.encode({ id = id, entry = ARGV[1] }))
redis.call('ZADD', KEYS[3], id, id)
redis.call('ZADD', KEYS[4], id, id)
redis.call('ZADD', KEYS[5], id, id)
return id`)

/** How far apart the API nodes' clocks may be, for the audit log's time filter (ms). */
const CLOCK_SKEW_MS = 5 * 60_000

/** The keys above, for this store and for the one-shot copy from meta.sqlite (meta-migration.ts). */
export function operatorKeys(p: string) {
  return {
    operators: `${p}operators`,
    operator: (name: string) => `${p}operator:${name}`,
    sessionsOf: (name: string) => `${p}operator-sessions:${name}`,
    session: (sha: string) => `${p}session:${sha}`,
    audit: {
      seq: `${p}audit:seq`,
      entries: `${p}audit:entries`,
      all: `${p}audit:all`,
      actor: (a: string) => `${p}audit:actor:${a}`,
      action: (a: string) => `${p}audit:action:${a}`,
    },
  }
}

/** An audit entry as audit:entries holds it (the AUDIT script writes the same shape). */
export const auditJson = (id: number, e: Omit<AuditEntry, 'id'>): string => JSON.stringify({ id, entry: JSON.stringify(e) })

/** Operators, sessions and the audit log on the cluster's Redis: every API node signs in against the same rows. */
export function openRedisOperatorStore(target: Redis | string, options: MetaRedisOptions = {}): OperatorStore {
  const { redis, prefix: p, release } = metaRedis(target, options)
  const keys = operatorKeys(p)
  const { operator: operatorKey, sessionsOf, session: sessionKey, audit } = keys
  const entryOf = (json: string): AuditEntry => {
    const { id, entry } = JSON.parse(json) as { id: number; entry: string }
    return { id, ...(JSON.parse(entry) as Omit<AuditEntry, 'id'>) }
  }
  let closed: Promise<void> | undefined

  return {
    count: () => redis.scard(keys.operators),

    async create(username, password, role, now) {
      const hash = await hashSecret(password)
      return (await CREATE(redis, [operatorKey(username), keys.operators], [username, role, hash, now])) === 1
    },

    async verify(username, password) {
      const [hash, role, disabled] = await redis.hmget(operatorKey(username), 'hash', 'role', 'disabled')
      if (!hash) return void (await verifyAgainstNothing(password))
      const ok = await verifySecret(hash, password)
      return ok && disabled !== '1' ? { username, role: role as Role } : undefined
    },

    async setDisabled(username, disabled) {
      return guarded(await SET_DISABLED(redis, [operatorKey(username), sessionsOf(username), keys.operators], [disabled ? '1' : '0', p]))
    },

    async setRole(username, role) {
      return guarded(await SET_ROLE(redis, [operatorKey(username), keys.operators], [role, p]))
    },

    async setPassword(username, password, keepToken) {
      const hash = await hashSecret(password)
      return (await SET_PASSWORD(redis, [operatorKey(username), sessionsOf(username)], [hash, p, keepToken === undefined ? '' : tokenHash(keepToken)])) === 1
    },

    async list() {
      const names = (await redis.smembers(keys.operators)).sort()
      if (names.length === 0) return []
      const pipeline = redis.pipeline()
      for (const n of names) pipeline.hmget(operatorKey(n), 'role', 'disabled', 'createdAt', 'lastSignInAt')
      const rows = (await pipeline.exec()) ?? []
      return names.map((username, i): OperatorView => {
        const [err, row] = rows[i]!
        if (err) throw err
        const [role, disabled, createdAt, lastSignInAt] = row as (string | null)[]
        return {
          username,
          role: role as Role,
          disabled: disabled === '1',
          createdAt: Number(createdAt),
          lastSignInAt: lastSignInAt === null ? null : Number(lastSignInAt),
        }
      })
    },

    async openSession(username, ttlMs, now) {
      const token = newSessionToken()
      const sha = tokenHash(token)
      const csrfToken = newCsrfToken()
      const role = await OPEN_SESSION(
        redis,
        [operatorKey(username), sessionKey(sha), sessionsOf(username)],
        [username, csrfToken, now + ttlMs, ttlMs, sha, now],
      )
      if (typeof role !== 'string') throw new Error(`no operator ${username}`)
      const session: Session = { username, role: role as Role, csrfToken, expiresAt: now + ttlMs }
      return { token, session }
    },

    async session(token, now) {
      const r = (await SESSION(redis, [sessionKey(tokenHash(token))], [p])) as [string, string, string, string] | null
      if (!r || Number(r[2]) <= now) return undefined
      return { username: r[0], csrfToken: r[1], expiresAt: Number(r[2]), role: r[3] as Role }
    },

    async closeSession(token) {
      const sha = tokenHash(token)
      await CLOSE_SESSION(redis, [sessionKey(sha)], [p, sha])
    },

    async audit(e, now) {
      const entry = JSON.stringify({ ts: now, actor: e.actor, action: e.action, target: e.target ?? null, detail: e.detail ?? null, ip: e.ip ?? null })
      await AUDIT(redis, [audit.seq, audit.entries, audit.all, audit.actor(e.actor), audit.action(e.action)], [entry])
    },

    async auditLog({ limit, before, actor, action, from, to }) {
      // The narrower index is read; with both filters the action is checked on what the actor's index gives.
      const index = actor !== undefined ? audit.actor(actor) : action !== undefined ? audit.action(action) : audit.all
      const out: AuditEntry[] = []
      let max = before !== undefined ? `(${before}` : '+inf'
      while (out.length < limit) {
        const ids = await redis.zrevrangebyscore(index, max, '-inf', 'LIMIT', 0, Math.max(limit - out.length, 100))
        if (ids.length === 0) break
        const entries = await redis.hmget(audit.entries, ...ids)
        for (const json of entries) {
          if (json === null) continue
          const e = entryOf(json)
          if (actor !== undefined && action !== undefined && e.action !== action) continue
          if (from !== undefined && e.ts < from) {
            // Ids follow write order and each node stamps its own clock: an entry a little older than `from` may
            // sit above newer ones. Past CLOCK_SKEW_MS older, nothing below can be in range.
            if (e.ts < from - CLOCK_SKEW_MS) return out
            continue
          }
          if (to !== undefined && e.ts >= to) continue
          out.push(e)
          if (out.length === limit) break
        }
        max = `(${ids[ids.length - 1]}`
      }
      return out
    },

    close: () => (closed ??= release()),
  }
}
