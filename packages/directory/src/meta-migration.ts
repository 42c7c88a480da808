import { existsSync } from 'node:fs'
import type Database from 'better-sqlite3'
import type { Redis } from 'ioredis'
import type { AuditAction } from '@mytho/schema'
import { copyAgencyKeysToRedis } from './agency-keys-redis.ts'
import { credentialKey } from './credential-store-redis.ts'
import { devicesKey } from './device-directory-redis.ts'
import { luaScript, metaRedis, MetaStoreError, type MetaRedisOptions } from './meta-redis.ts'
import { metaSqlitePath, openMetaSqlite } from './meta-sqlite.ts'
import { auditJson, operatorKeys } from './operator-store-redis.ts'

/*
 * One-shot copy of a host's DATA_DIR/meta.sqlite into the cluster's Redis, for a platform that ran on one host
 * and now starts its nodes with REDIS_URL. Hashes are copied as they are (nothing is re-hashed, no secret is
 * needed). Whatever Redis already has wins, so a second run, or a run after the nodes started and seeded,
 * changes nothing that is there: credentials, devices and operators are added when absent, live sessions
 * keep their remaining lifetime, and the audit log is copied (ids kept) only into a Redis that has none yet.
 */

export interface MigrationCounts {
  credentials: number
  devices: number
  operators: number
  sessions: number
  audit: number
  /** Agency keys and NGSI-LD subscriptions (issue #22); a key's use log stays in meta.sqlite, its count travels. */
  agencyKeys: number
  subscriptions: number
}

// HSET of every field, only when the key does not exist.
const HSET_IF_ABSENT = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1`)

// The whole log in one step: a node writing an entry meanwhile would take an id the copy needs.
const COPY_AUDIT_START = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1`)

const tableExists = (db: Database.Database, name: string): boolean =>
  db.prepare<[string], { n: number }>("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?").get(name)!.n > 0

export async function migrateMetaToRedis(dataDir: string, target: Redis | string, options: MetaRedisOptions & { now?: number } = {}): Promise<MigrationCounts> {
  const file = metaSqlitePath(dataDir)
  if (!existsSync(file)) throw new MetaStoreError(`no ${file} to copy`)
  const db = openMetaSqlite(dataDir, { readonly: true })
  const { redis, prefix, release } = metaRedis(target, options)
  const keys = operatorKeys(prefix)
  const now = options.now ?? Date.now()
  const counts: MigrationCounts = { credentials: 0, devices: 0, operators: 0, sessions: 0, audit: 0, agencyKeys: 0, subscriptions: 0 }
  try {
    if (tableExists(db, 'credentials'))
      for (const c of db.prepare('SELECT username, role, scrypt_hash, disabled, updated_at FROM credentials').all() as {
        username: string
        role: string
        scrypt_hash: string
        disabled: number
        updated_at: number
      }[])
        counts.credentials += Number(
          (await HSET_IF_ABSENT(
            redis,
            [credentialKey(prefix, c.username)],
            ['role', c.role, 'hash', c.scrypt_hash, 'disabled', c.disabled ? '1' : '0', 'updatedAt', c.updated_at],
          )) === 1,
        )

    if (tableExists(db, 'devices'))
      for (const d of db.prepare('SELECT id, record FROM devices').all() as { id: string; record: string }[])
        counts.devices += await redis.hsetnx(devicesKey(prefix), d.id, d.record)

    if (tableExists(db, 'operators')) {
      type Op = { username: string; role: string; scrypt_hash: string; disabled: number; created_at: number; last_sign_in_at: number | null }
      for (const o of db.prepare('SELECT username, role, scrypt_hash, disabled, created_at, last_sign_in_at FROM operators').all() as Op[]) {
        const fields = [
          'role',
          o.role,
          'hash',
          o.scrypt_hash,
          'disabled',
          o.disabled ? '1' : '0',
          'createdAt',
          o.created_at,
          ...(o.last_sign_in_at !== null ? ['lastSignInAt', o.last_sign_in_at] : []),
        ]
        if ((await HSET_IF_ABSENT(redis, [keys.operator(o.username)], fields)) !== 1) continue
        await redis.sadd(keys.operators, o.username)
        counts.operators++
      }
      type S = { token_hash: string; username: string; csrf_token: string; expires_at: number }
      for (const s of db
        .prepare(
          'SELECT s.token_hash, s.username, s.csrf_token, s.expires_at FROM sessions s JOIN operators o ON o.username = s.username WHERE s.expires_at > ? AND o.disabled = 0',
        )
        .all(now) as S[]) {
        const ttl = s.expires_at - now
        if ((await HSET_IF_ABSENT(redis, [keys.session(s.token_hash)], ['username', s.username, 'csrf', s.csrf_token, 'expiresAt', s.expires_at])) !== 1)
          continue
        await redis.pexpire(keys.session(s.token_hash), ttl)
        await redis.sadd(keys.sessionsOf(s.username), s.token_hash)
        if ((await redis.pttl(keys.sessionsOf(s.username))) < ttl) await redis.pexpire(keys.sessionsOf(s.username), ttl)
        counts.sessions++
      }
    }

    if (tableExists(db, 'audit_log')) {
      type A = { id: number; ts: number; actor: string; action: AuditAction; target: string | null; detail: string | null; ip: string | null }
      const rows = db.prepare('SELECT id, ts, actor, action, target, detail, ip FROM audit_log ORDER BY id').all() as A[]
      const last = rows.at(-1)?.id ?? 0
      if (rows.length > 0 && (await COPY_AUDIT_START(redis, [keys.audit.seq], [last])) === 1) {
        for (let i = 0; i < rows.length; i += 500) {
          const pipeline = redis.pipeline()
          for (const r of rows.slice(i, i + 500)) {
            const detail = r.detail === null ? null : (JSON.parse(r.detail) as unknown)
            pipeline.hset(keys.audit.entries, r.id, auditJson(r.id, { ts: r.ts, actor: r.actor, action: r.action, target: r.target, detail, ip: r.ip }))
            for (const index of [keys.audit.all, keys.audit.actor(r.actor), keys.audit.action(r.action)]) pipeline.zadd(index, r.id, r.id)
          }
          for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err
        }
        counts.audit = rows.length
      }
    }
    if (tableExists(db, 'agency_keys')) Object.assign(counts, await copyAgencyKeysToRedis(db, redis, prefix))
    return counts
  } finally {
    db.close()
    await release()
  }
}
