import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { AgencyKeyScope, type AgencyKeyCreated, type AgencyKeyCreateRequest, type AgencyKeyUse, type AgencyKeyView, type NgsiSubscription } from '@mytho/schema'
import { openMetaSqlite } from './meta-sqlite.ts'

/*
 * Keys an admin issues to another agency (issue #22). A key reads `mak_<id>_<secret>`: the id (8 random bytes, hex)
 * finds the row, the secret (32 random bytes) proves it. Only sha256 of the whole key is kept. A fast hash is enough
 * here, unlike for passwords (scrypt, hashing.ts): the secret is 256 random bits, not something a person chose, so a
 * stolen table gives no dictionary to try and 2^256 guesses are out of reach at any hash speed; a slow hash would
 * only cost every agency request tens of milliseconds of CPU. The comparison is constant-time.
 */

export const AGENCY_KEY_PREFIX = 'mak_'
/** How long a delivery claim is kept, ms: longer than any two API nodes hear the same reading apart. */
export const DELIVERY_CLAIM_MS = 10 * 60_000
/** Newest uses kept per key; older ones are dropped as new ones come (the count keeps counting). */
export const AGENCY_KEY_USES_KEPT = 10_000

export interface AgencyKeyInput extends Omit<AgencyKeyCreateRequest, 'scope'> {
  scope: AgencyKeyScope
  createdBy: string
}

/** What a key row holds besides its hash and counters (JSON in SQLite and Redis alike). */
interface KeyRecord {
  name: string
  agency: string
  scope: AgencyKeyScope
  createdBy: string
  expiresAt: number | null
}

/** A stored subscription and the key it belongs to. */
export interface StoredSubscription {
  keyId: string
  subscription: NgsiSubscription
}

/**
 * Agency keys, their use log and the NGSI-LD subscriptions made with them. SQLite (DATA_DIR/meta.sqlite, one host)
 * and Redis (agency-keys-redis.ts, a cluster); both pass agency-keys.test-suite.ts.
 */
export interface AgencyKeyStore {
  /** A new key; the answer holds the whole key, this once. */
  create(input: AgencyKeyInput, now: number): Promise<AgencyKeyCreated>
  /** Newest first. */
  list(): Promise<AgencyKeyView[]>
  get(id: string): Promise<AgencyKeyView | undefined>
  /** The key behind a presented key string, when it is ours, not revoked and not expired at `now`. */
  authenticate(presented: string, now: number): Promise<AgencyKeyView | undefined>
  /** Revokes at once, on every node; undefined for no such key. Revoking twice keeps the first time. */
  revoke(id: string, now: number): Promise<AgencyKeyView | undefined>
  /** Counts one use and keeps it in the key's use log. */
  recordUse(id: string, use: AgencyKeyUse): Promise<void>
  /** The key's newest uses first. */
  uses(id: string, limit: number): Promise<AgencyKeyUse[]>
  /** false when the id is taken. */
  addSubscription(keyId: string, subscription: NgsiSubscription, now: number): Promise<boolean>
  /** Every subscription (of one key when given), oldest first. */
  subscriptions(keyId?: string): Promise<StoredSubscription[]>
  /**
   * Replaces a subscription's body (a PATCH, merged and checked by the caller), keeping its place in the order; false
   * when the key has no subscription of that id (another key's is never touched).
   */
  updateSubscription(keyId: string, subscription: NgsiSubscription): Promise<boolean>
  /** false when the key has no subscription of that id. */
  deleteSubscription(keyId: string, id: string): Promise<boolean>
  /**
   * Takes on one notification (a subscription and the event that triggers it, e.g. a reading's device and time): true
   * for the first caller only, on any node, so API nodes that all hear the same reading send it once. A claim is
   * forgotten after DELIVERY_CLAIM_MS.
   */
  claimDelivery(subscriptionId: string, event: string, now: number): Promise<boolean>
  /** Safe to call twice. */
  close(): Promise<void>
}

export const agencyKeyHash = (key: string): string => createHash('sha256').update(key).digest('base64url')

/** A fresh key: its id and the whole string the agency sends. */
export function newAgencyKey(): { id: string; key: string } {
  const id = randomBytes(8).toString('hex')
  return { id, key: `${AGENCY_KEY_PREFIX}${id}_${randomBytes(32).toString('base64url')}` }
}

/** The id part of a presented key; undefined when it is not shaped like one of ours. */
export function agencyKeyIdOf(presented: string): string | undefined {
  const m = /^mak_([0-9a-f]{16})_[A-Za-z0-9_-]{43}$/.exec(presented)
  return m?.[1]
}

/** Whether `presented` hashes to `storedHash`, in constant time. */
export function agencyKeyMatches(presented: string, storedHash: string): boolean {
  const a = Buffer.from(agencyKeyHash(presented))
  const b = Buffer.from(storedHash)
  return a.length === b.length && timingSafeEqual(a, b)
}

export function recordOfInput(input: AgencyKeyInput): KeyRecord {
  return { name: input.name, agency: input.agency, scope: AgencyKeyScope.parse(input.scope), createdBy: input.createdBy, expiresAt: input.expiresAt ?? null }
}

export function viewOf(
  id: string,
  r: KeyRecord,
  row: { createdAt: number; revokedAt: number | null; useCount: number; lastUsedAt: number | null },
): AgencyKeyView {
  return { id, name: r.name, agency: r.agency, scope: r.scope, createdBy: r.createdBy, expiresAt: r.expiresAt, ...row }
}

export const usable = (v: AgencyKeyView, now: number): boolean => v.revokedAt === null && (v.expiresAt === null || v.expiresAt > now)

interface KeyRow {
  id: string
  key_hash: string
  record: string
  created_at: number
  revoked_at: number | null
  use_count: number
  last_used_at: number | null
}

const viewOfRow = (r: KeyRow): AgencyKeyView =>
  viewOf(r.id, JSON.parse(r.record) as KeyRecord, { createdAt: r.created_at, revokedAt: r.revoked_at, useCount: r.use_count, lastUsedAt: r.last_used_at })

/** Agency keys in `${dataDir}/meta.sqlite`, beside the operators and their audit log (one file to back up). */
export function openAgencyKeyStore(dataDir: string): AgencyKeyStore {
  const db = openMetaSqlite(dataDir)
  const q = {
    insert: db.prepare<[string, string, string, number]>('INSERT INTO agency_keys (id, key_hash, record, created_at) VALUES (?, ?, ?, ?)'),
    list: db.prepare<[], KeyRow>('SELECT * FROM agency_keys ORDER BY created_at DESC, id'),
    get: db.prepare<[string], KeyRow>('SELECT * FROM agency_keys WHERE id = ?'),
    revoke: db.prepare<[number, string]>('UPDATE agency_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?'),
    count: db.prepare<[number, string]>('UPDATE agency_keys SET use_count = use_count + 1, last_used_at = MAX(COALESCE(last_used_at, 0), ?) WHERE id = ?'),
    use: db.prepare<[string, number, string, string, number, string | null]>(
      'INSERT INTO agency_key_uses (key_id, ts, method, path, status, ip) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    prune: db.prepare<[string, string, number]>(
      'DELETE FROM agency_key_uses WHERE key_id = ? AND id <= (SELECT id FROM agency_key_uses WHERE key_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)',
    ),
    uses: db.prepare<[string, number], AgencyKeyUse>('SELECT ts, method, path, status, ip FROM agency_key_uses WHERE key_id = ? ORDER BY id DESC LIMIT ?'),
    addSub: db.prepare<[string, string, string, number]>('INSERT OR IGNORE INTO ngsi_subscriptions (id, key_id, body, created_at) VALUES (?, ?, ?, ?)'),
    subs: db.prepare<[], { key_id: string; body: string }>('SELECT key_id, body FROM ngsi_subscriptions ORDER BY created_at, id'),
    subsOf: db.prepare<[string], { key_id: string; body: string }>('SELECT key_id, body FROM ngsi_subscriptions WHERE key_id = ? ORDER BY created_at, id'),
    updSub: db.prepare<[string, string, string]>('UPDATE ngsi_subscriptions SET body = ? WHERE key_id = ? AND id = ?'),
    delSub: db.prepare<[string, string]>('DELETE FROM ngsi_subscriptions WHERE key_id = ? AND id = ?'),
    claim: db.prepare<[string, string, number]>('INSERT OR IGNORE INTO ngsi_deliveries (subscription_id, event, claimed_at) VALUES (?, ?, ?)'),
    forget: db.prepare<[number]>('DELETE FROM ngsi_deliveries WHERE claimed_at < ?'),
  }
  let forgotAt = 0
  const get = (id: string) => {
    const r = q.get.get(id)
    return r && viewOfRow(r)
  }
  const recordUse = db.transaction((id: string, u: AgencyKeyUse) => {
    if (q.count.run(u.ts, id).changes === 0) return
    q.use.run(id, u.ts, u.method, u.path, u.status, u.ip)
    q.prune.run(id, id, AGENCY_KEY_USES_KEPT)
  })
  let closed = false
  return {
    async create(input, now) {
      const { id, key } = newAgencyKey()
      q.insert.run(id, agencyKeyHash(key), JSON.stringify(recordOfInput(input)), now)
      return { key, agencyKey: get(id)! }
    },
    list: async () => q.list.all().map(viewOfRow),
    get: async (id) => get(id),
    async authenticate(presented, now) {
      const id = agencyKeyIdOf(presented)
      const row = id === undefined ? undefined : q.get.get(id)
      if (!row || !agencyKeyMatches(presented, row.key_hash)) return undefined
      const v = viewOfRow(row)
      return usable(v, now) ? v : undefined
    },
    async revoke(id, now) {
      q.revoke.run(now, id)
      return get(id)
    },
    async recordUse(id, use) {
      recordUse(id, use)
    },
    uses: async (id, limit) => q.uses.all(id, limit),
    async addSubscription(keyId, subscription, now) {
      return q.addSub.run(subscription.id, keyId, JSON.stringify(subscription), now).changes > 0
    },
    async subscriptions(keyId) {
      const rows = keyId === undefined ? q.subs.all() : q.subsOf.all(keyId)
      return rows.map((r) => ({ keyId: r.key_id, subscription: JSON.parse(r.body) as NgsiSubscription }))
    },
    updateSubscription: async (keyId, subscription) => q.updSub.run(JSON.stringify(subscription), keyId, subscription.id).changes > 0,
    deleteSubscription: async (keyId, id) => q.delSub.run(keyId, id).changes > 0,
    async claimDelivery(subscriptionId, event, now) {
      // Old claims go once a minute, not on every claim: a burst of readings stays one INSERT each.
      if (now - forgotAt > 60_000) {
        forgotAt = now
        q.forget.run(now - DELIVERY_CLAIM_MS)
      }
      return q.claim.run(subscriptionId, event, now).changes > 0
    },
    async close() {
      if (closed) return
      closed = true
      db.close()
    },
  }
}
