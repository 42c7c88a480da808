import { createHash, randomBytes } from 'node:crypto'
import type { AuditAction, AuditEntry, OperatorView, Role } from '@mytho/schema'
import { hashSecret, verifySecret } from './hashing.ts'
import { openMetaSqlite } from './meta-sqlite.ts'

export interface Session {
  username: string
  role: Role
  csrfToken: string
  expiresAt: number
}

export interface AuditInput {
  actor: string
  action: AuditAction
  target?: string | undefined
  detail?: unknown
  ip?: string | undefined
}

export interface AuditQuery {
  limit: number
  /** Only entries with a smaller id (paging back). */
  before?: number | undefined
  actor?: string | undefined
  action?: AuditAction | undefined
  /** Written at or after (ms). */
  from?: number | undefined
  /** Written before (ms). */
  to?: number | undefined
}

/**
 * What a change that could leave the city without an admin did: 'last-admin' when it was refused because the
 * operator is the last enabled admin (checked and written in one step, so two admins disabling each other at
 * the same moment cannot both succeed).
 */
export type GuardedChange = boolean | 'last-admin'

/**
 * Operators, sessions and the audit log. Two implementations: SQLite (DATA_DIR/meta.sqlite, one host) and
 * Redis (operator-store-redis.ts, on a cluster: every API node shares them; openOperatorStoreFromConfig chooses). Both pass
 * operator-store.test-suite.ts.
 */
export interface OperatorStore {
  count(): Promise<number>
  /** false when the name is taken (also when another node took it a moment ago). */
  create(username: string, password: string, role: Role, now: number): Promise<boolean>
  /** The operator when the password matches and the account is enabled. */
  verify(username: string, password: string): Promise<{ username: string; role: Role } | undefined>
  /**
   * Disabling ends every session of the operator, on every node; false when there is no such operator; the last
   * enabled admin is not disabled ('last-admin').
   */
  setDisabled(username: string, disabled: boolean): Promise<GuardedChange>
  /** The new role holds for the operator's open sessions at once; the last enabled admin keeps the role ('last-admin'). */
  setRole(username: string, role: Role): Promise<GuardedChange>
  /**
   * A new password (hashed here); every session of the operator ends, on every node, except the one whose token is
   * `keepToken` (the operator's own, when they change it themselves). false when there is no such operator.
   */
  setPassword(username: string, password: string, keepToken?: string): Promise<boolean>
  /** Ordered by name. */
  list(): Promise<OperatorView[]>
  /** Returns the opaque session token for the cookie; only its sha256 is stored. */
  openSession(username: string, ttlMs: number, now: number): Promise<{ token: string; session: Session }>
  /** The live session behind a token; a disabled operator's sessions are dead. */
  session(token: string, now: number): Promise<Session | undefined>
  closeSession(token: string): Promise<void>
  /** Entries get increasing ids in the order they are written, whichever node writes them. */
  audit(entry: AuditInput, now: number): Promise<void>
  /** Newest first. */
  auditLog(q: AuditQuery): Promise<AuditEntry[]>
  /** Safe to call twice. */
  close(): Promise<void>
}

export const tokenHash = (v: string): string => createHash('sha256').update(v).digest('base64url')
const sha256 = tokenHash

/** Checked against a hash like a real one so an unknown name costs as long as a wrong password. */
let dummyHash: Promise<string> | undefined
export async function verifyAgainstNothing(password: string): Promise<void> {
  dummyHash ??= hashSecret(randomBytes(16).toString('hex'))
  await verifySecret(await dummyHash, password)
}

/** Enabled admins other than the row being updated (SQL, inside that row's UPDATE). */
const OTHER_ADMINS = "(SELECT COUNT(*) FROM operators o2 WHERE o2.role = 'admin' AND o2.disabled = 0 AND o2.username <> operators.username)"

export const newSessionToken = (): string => randomBytes(32).toString('base64url')
export const newCsrfToken = (): string => randomBytes(24).toString('base64url')

/**
 * Operators, their sessions and the audit log, in `${dataDir}/meta.sqlite` beside the broker's device
 * credentials (one metadata store to back up). Passwords are scrypt hashes (hashing.ts, as the devices' secrets);
 * a session row holds sha256(token), so a copy of the file does not give anyone a live session.
 */
export function openOperatorStore(dataDir: string): OperatorStore {
  const db = openMetaSqlite(dataDir)
  const q = {
    count: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM operators'),
    insert: db.prepare<[string, string, string, number]>('INSERT OR IGNORE INTO operators (username, role, scrypt_hash, created_at) VALUES (?, ?, ?, ?)'),
    get: db.prepare<[string], { role: Role; scrypt_hash: string; disabled: number }>('SELECT role, scrypt_hash, disabled FROM operators WHERE username = ?'),
    signedIn: db.prepare<[number, string]>('UPDATE operators SET last_sign_in_at = ? WHERE username = ?'),
    enable: db.prepare<[string]>('UPDATE operators SET disabled = 0 WHERE username = ?'),
    // One statement, so the count and the write cannot be split by another writer (WAL: one writer at a time).
    disable: db.prepare<[string]>(`UPDATE operators SET disabled = 1 WHERE username = ? AND NOT (role = 'admin' AND disabled = 0 AND ${OTHER_ADMINS} = 0)`),
    setRole: db.prepare<[string, string, string]>(
      `UPDATE operators SET role = ? WHERE username = ? AND (? = 'admin' OR NOT (role = 'admin' AND disabled = 0 AND ${OTHER_ADMINS} = 0))`,
    ),
    setHash: db.prepare<[string, string]>('UPDATE operators SET scrypt_hash = ? WHERE username = ?'),
    dropSessionsOf: db.prepare<[string]>('DELETE FROM sessions WHERE username = ?'),
    dropOtherSessionsOf: db.prepare<[string, string]>('DELETE FROM sessions WHERE username = ? AND token_hash <> ?'),
    list: db.prepare<[], { username: string; role: Role; disabled: number; created_at: number; last_sign_in_at: number | null }>(
      'SELECT username, role, disabled, created_at, last_sign_in_at FROM operators ORDER BY username',
    ),
    openSession: db.prepare<[string, string, string, number]>('INSERT INTO sessions (token_hash, username, csrf_token, expires_at) VALUES (?, ?, ?, ?)'),
    session: db.prepare<[string], { username: string; csrf_token: string; expires_at: number; role: Role; disabled: number }>(
      'SELECT s.username, s.csrf_token, s.expires_at, o.role, o.disabled FROM sessions s JOIN operators o ON o.username = s.username WHERE s.token_hash = ?',
    ),
    closeSession: db.prepare<[string]>('DELETE FROM sessions WHERE token_hash = ?'),
    expire: db.prepare<[number]>('DELETE FROM sessions WHERE expires_at <= ?'),
    audit: db.prepare<[number, string, string, string | null, string | null, string | null]>(
      'INSERT INTO audit_log (ts, actor, action, target, detail, ip) VALUES (?, ?, ?, ?, ?, ?)',
    ),
  }
  let closed = false

  return {
    count: async () => q.count.get()!.n,

    async create(username, password, role, now) {
      const hash = await hashSecret(password)
      return q.insert.run(username, role, hash, now).changes > 0
    },

    async verify(username, password) {
      const row = q.get.get(username)
      if (!row) return void (await verifyAgainstNothing(password))
      const ok = await verifySecret(row.scrypt_hash, password)
      return ok && !row.disabled ? { username, role: row.role } : undefined
    },

    async setDisabled(username, disabled) {
      if (!disabled) return q.enable.run(username).changes > 0
      if (q.disable.run(username).changes === 0) return q.get.get(username) ? 'last-admin' : false
      q.dropSessionsOf.run(username)
      return true
    },

    async setRole(username, role) {
      if (q.setRole.run(role, username, role).changes > 0) return true
      return q.get.get(username) ? 'last-admin' : false
    },

    async setPassword(username, password, keepToken) {
      const hash = await hashSecret(password)
      const write = db.transaction(() => {
        if (q.setHash.run(hash, username).changes === 0) return false
        if (keepToken === undefined) q.dropSessionsOf.run(username)
        else q.dropOtherSessionsOf.run(username, sha256(keepToken))
        return true
      })
      return write.immediate()
    },

    list: async () =>
      q.list.all().map((r) => ({ username: r.username, role: r.role, disabled: r.disabled === 1, createdAt: r.created_at, lastSignInAt: r.last_sign_in_at })),

    async openSession(username, ttlMs, now) {
      const row = q.get.get(username)
      if (!row) throw new Error(`no operator ${username}`)
      q.expire.run(now)
      const token = newSessionToken()
      const session: Session = { username, role: row.role, csrfToken: newCsrfToken(), expiresAt: now + ttlMs }
      q.openSession.run(sha256(token), username, session.csrfToken, session.expiresAt)
      q.signedIn.run(now, username)
      return { token, session }
    },

    async session(token, now) {
      const r = q.session.get(sha256(token))
      if (!r || r.disabled || r.expires_at <= now) return undefined
      return { username: r.username, role: r.role, csrfToken: r.csrf_token, expiresAt: r.expires_at }
    },

    async closeSession(token) {
      q.closeSession.run(sha256(token))
    },

    async audit(e, now) {
      q.audit.run(now, e.actor, e.action, e.target ?? null, e.detail === undefined ? null : JSON.stringify(e.detail), e.ip ?? null)
    },

    async auditLog({ limit, before, actor, action, from, to }) {
      const where: string[] = []
      const args: (string | number)[] = []
      if (before !== undefined) where.push('id < ?'), args.push(before)
      if (actor !== undefined) where.push('actor = ?'), args.push(actor)
      if (action !== undefined) where.push('action = ?'), args.push(action)
      if (from !== undefined) where.push('ts >= ?'), args.push(from)
      if (to !== undefined) where.push('ts < ?'), args.push(to)
      const sql = `SELECT id, ts, actor, action, target, detail, ip FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`
      const rows = db.prepare(sql).all(...args, limit) as Array<Omit<AuditEntry, 'detail'> & { detail: string | null }>
      return rows.map((r) => ({ ...r, detail: r.detail === null ? null : (JSON.parse(r.detail) as unknown) }))
    },

    async close() {
      if (closed) return
      closed = true
      db.close()
    },
  }
}
