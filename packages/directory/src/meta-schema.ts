import type Database from 'better-sqlite3'
import type { SqliteMigration } from '@mytho/runtime'

/*
 * meta.sqlite's schema, one list for the file: the broker's credentials, the directory's devices, the API's
 * operators, sessions and audit log share it and its user_version (openMetaSqlite migrates it whichever opens first).
 * Version 1 is the schema of every file written before versions were kept (user_version 0); such a file may hold
 * only some of the tables (a broker that ran alone), and gets the others, empty. New versions go at the end.
 */

const CREDENTIALS = `CREATE TABLE IF NOT EXISTS credentials (
    username    TEXT PRIMARY KEY,
    role        TEXT NOT NULL CHECK (role IN ('device', 'service')),
    scrypt_hash TEXT NOT NULL,
    disabled    INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL
  )`

const DEVICES = `CREATE TABLE IF NOT EXISTS devices (
    id         TEXT PRIMARY KEY,
    record     TEXT NOT NULL,
    created_at INTEGER NOT NULL
  )`

const OPERATORS = `CREATE TABLE IF NOT EXISTS operators (
    username       TEXT PRIMARY KEY,
    role           TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    scrypt_hash    TEXT NOT NULL,
    disabled       INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    last_sign_in_at INTEGER
  );
  CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    username   TEXT NOT NULL REFERENCES operators (username),
    csrf_token TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS audit_log (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    ts     INTEGER NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT,
    ip     TEXT
  );
  CREATE INDEX IF NOT EXISTS audit_log_actor ON audit_log (actor, id)`

// Issue #22: keys an admin issues to other agencies (only sha256 of a key is kept), each key's use log, the NGSI-LD
// subscriptions made with a key, and which notifications some API node has taken on (so each goes out once).
const AGENCY_KEYS = `CREATE TABLE IF NOT EXISTS agency_keys (
    id           TEXT PRIMARY KEY,
    key_hash     TEXT NOT NULL,
    record       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    use_count    INTEGER NOT NULL DEFAULT 0,
    last_used_at INTEGER
  );
  CREATE TABLE IF NOT EXISTS agency_key_uses (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    key_id TEXT NOT NULL,
    ts     INTEGER NOT NULL,
    method TEXT NOT NULL,
    path   TEXT NOT NULL,
    status INTEGER NOT NULL,
    ip     TEXT
  );
  CREATE INDEX IF NOT EXISTS agency_key_uses_key ON agency_key_uses (key_id, id);
  CREATE TABLE IF NOT EXISTS ngsi_subscriptions (
    id         TEXT PRIMARY KEY,
    key_id     TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS ngsi_deliveries (
    subscription_id TEXT NOT NULL,
    event           TEXT NOT NULL,
    claimed_at      INTEGER NOT NULL,
    PRIMARY KEY (subscription_id, event)
  )`

export const META_MIGRATIONS: readonly SqliteMigration<Database.Database>[] = [
  {
    version: 1,
    description: 'credentials, devices, operators, sessions, audit log',
    up(db) {
      db.exec(CREDENTIALS)
      db.exec(DEVICES)
      db.exec(OPERATORS)
    },
  },
  {
    version: 2,
    description: 'agency keys, their use log, NGSI-LD subscriptions and their deliveries',
    up(db) {
      db.exec(AGENCY_KEYS)
    },
  },
]
