import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { migrateSqlite } from '@mytho/runtime'
import { META_MIGRATIONS } from './meta-schema.ts'

/** File name of the metadata store inside DATA_DIR: credentials, devices, operators, sessions, audit log. */
export const META_SQLITE_FILE = 'meta.sqlite'

export const metaSqlitePath = (dataDir: string): string => join(dataDir, META_SQLITE_FILE)

/**
 * The one way into `${dataDir}/meta.sqlite`. Each store opens its own handle on the shared file; WAL lets the API
 * provision devices from another process while the broker reads, and busy_timeout (5 s) makes a writer wait for
 * another's transaction instead of failing. DATA_DIR is created 0700 when missing. The schema is brought to the newest
 * version (meta-schema.ts), every table of the file at once. `readonly` (the one-shot copy into Redis) opens an
 * existing file as it is: nothing is created and the journal mode is left alone.
 */
export function openMetaSqlite(dataDir: string, options: { readonly?: boolean } = {}): Database.Database {
  if (options.readonly) return new Database(metaSqlitePath(dataDir), { readonly: true, fileMustExist: true })
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const db = new Database(metaSqlitePath(dataDir))
  db.pragma('journal_mode = WAL')
  db.pragma('busy_timeout = 5000')
  try {
    migrateSqlite(db, META_MIGRATIONS)
  } catch (err) {
    db.close()
    throw err
  }
  return db
}
