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
]
