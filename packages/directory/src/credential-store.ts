import { createHash, timingSafeEqual } from 'node:crypto'
import { hashSecret, verifySecret } from './hashing.ts'
import { openMetaSqlite } from './meta-sqlite.ts'

export type CredentialRole = 'device' | 'service'
export type VerifyResult = 'ok' | 'bad' | 'unknown' | 'disabled'

export interface CredentialStore {
  /** Stores the scrypt hash of `secret` (never the secret); re-enables nothing, keeps `disabled` as it was. */
  setSecret(username: string, role: CredentialRole, secret: string): Promise<void>
  /**
   * Stores a credential only when the name has none; false when it had one. Seeding nodes that start at
   * once each try, and the first one's secret stays (a second setSecret would replace it under the first).
   */
  addSecret(username: string, role: CredentialRole, secret: string): Promise<boolean>
  verify(username: string, password: string | Buffer | undefined): Promise<VerifyResult>
  has(username: string): Promise<boolean>
  /** The row's role, or undefined when there is none: a provisioned device is known by its row alone. */
  roleOf(username: string): Promise<CredentialRole | undefined>
  /** Disables or re-enables a row; false when there is none. A disabled login is refused at its next CONNECT. */
  setDisabled(username: string, disabled: boolean): Promise<boolean>
  /** Safe to call twice. */
  close(): Promise<void>
  /** scrypt verifications run, and logins answered from the cache instead. */
  readonly stats: { scryptRuns: number; cacheHits: number }
}

export interface CredentialStoreOptions {
  /** Most recent successful logins remembered, entries. Default 50,000 (about 10 MB). */
  cacheEntries?: number
}

export class CredentialStoreError extends Error {
  override name = 'CredentialStoreError'
}

const sha256 = (v: string | Buffer): Buffer => createHash('sha256').update(v).digest()

/** What a login is checked against: the stored hash and the disabled flag, read afresh at every CONNECT. */
export interface CredentialRow {
  scryptHash: string
  disabled: boolean
}

/**
 * A reconnect storm (a cell tower comes back and thousands of devices log in at once) must not cost
 * thousands of scrypt runs, so successful logins are remembered as username → sha256(password),
 * together with the hash they were checked against. Every store reads the row at every login (one
 * indexed SELECT, one HMGET on Redis), so a new secret or a disabled device written by another process
 * or another node is seen at the next CONNECT: the cached entry no longer matches the row's hash, and
 * nothing has to be told to forget it. Only successes are cached; a wrong password always pays for scrypt.
 */
/** The scrypt hash of a secret for a store that may close while scrypt runs: then nothing would be written, so say so. */
export async function hashForStore(isClosed: () => boolean, username: string, secret: string): Promise<string> {
  const hash = await hashSecret(secret)
  if (isClosed()) throw new CredentialStoreError(`credential store is closed; secret for ${username} not stored`)
  return hash
}

export function createLoginCache(maxEntries: number) {
  /** Insertion order is recency order: a hit is deleted and re-set, the oldest entry goes first. */
  const cache = new Map<string, { hash: string; digest: Buffer }>()
  const stats = { scryptRuns: 0, cacheHits: 0 }
  const remember = (username: string, hash: string, digest: Buffer) => {
    cache.delete(username)
    cache.set(username, { hash, digest })
    if (cache.size > maxEntries) cache.delete(cache.keys().next().value!)
  }
  return {
    stats,
    forget: (username: string) => void cache.delete(username),
    clear: () => cache.clear(),
    async check(username: string, row: CredentialRow | undefined, password: string | Buffer | undefined): Promise<VerifyResult> {
      if (!row) {
        cache.delete(username)
        return 'unknown'
      }
      if (row.disabled) return 'disabled'
      if (password === undefined) return 'bad'
      const digest = sha256(password)
      const hit = cache.get(username)
      if (hit && hit.hash === row.scryptHash && timingSafeEqual(hit.digest, digest)) {
        remember(username, row.scryptHash, digest)
        stats.cacheHits++
        return 'ok'
      }
      stats.scryptRuns++
      if (!(await verifySecret(row.scryptHash, password))) return 'bad'
      remember(username, row.scryptHash, digest)
      return 'ok'
    },
  }
}

interface Row {
  scrypt_hash: string
  disabled: number
}

/**
 * Device and service-account credentials in `${dataDir}/meta.sqlite` (WAL, so the API can provision
 * devices from another process while the broker reads): one host. On a cluster the nodes use
 * credential-store-redis.ts instead, the same behaviour on the cluster's Redis (openCredentialsFromConfig chooses).
 */
export function openCredentialStore(dataDir: string, options: CredentialStoreOptions = {}): CredentialStore {
  const db = openMetaSqlite(dataDir)
  const select = db.prepare<[string], Row>('SELECT scrypt_hash, disabled FROM credentials WHERE username = ?')
  const role = db.prepare<[string], { role: CredentialRole }>('SELECT role FROM credentials WHERE username = ?')
  const disable = db.prepare<[number, number, string]>('UPDATE credentials SET disabled = ?, updated_at = ? WHERE username = ?')
  const upsert = db.prepare<[string, CredentialRole, string, number]>(
    `INSERT INTO credentials (username, role, scrypt_hash, disabled, updated_at) VALUES (?, ?, ?, 0, ?)
     ON CONFLICT (username) DO UPDATE SET role = excluded.role, scrypt_hash = excluded.scrypt_hash, updated_at = excluded.updated_at`,
  )
  const insert = db.prepare<[string, CredentialRole, string, number]>(
    'INSERT OR IGNORE INTO credentials (username, role, scrypt_hash, disabled, updated_at) VALUES (?, ?, ?, 0, ?)',
  )
  const cache = createLoginCache(options.cacheEntries ?? 50_000)
  let closed = false
  const hashFor = (username: string, secret: string) => hashForStore(() => closed, username, secret)

  return {
    stats: cache.stats,

    async setSecret(username, role, secret) {
      upsert.run(username, role, await hashFor(username, secret), Date.now())
      cache.forget(username)
    },

    async addSecret(username, role, secret) {
      return insert.run(username, role, await hashFor(username, secret), Date.now()).changes > 0
    },

    async verify(username, password) {
      const row = select.get(username)
      return cache.check(username, row && { scryptHash: row.scrypt_hash, disabled: row.disabled === 1 }, password)
    },

    has: async (username) => role.get(username) !== undefined,
    roleOf: async (username) => role.get(username)?.role,

    async setDisabled(username, disabled) {
      cache.forget(username)
      return disable.run(disabled ? 1 : 0, Date.now(), username).changes > 0
    },

    async close() {
      if (closed) return
      closed = true
      cache.clear()
      db.close()
    },
  }
}
