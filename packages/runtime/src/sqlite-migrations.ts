/*
 * Versioned SQLite schemas. Each store declares its file's migrations in order (version 1, 2, …); opening runs the
 * ones the file lacks, each in its own write transaction that ends by setting PRAGMA user_version, so a crash between
 * two leaves the file at the last finished version, and a process opening the same file at the same moment waits for
 * the lock, reads the new version and runs nothing twice. Version 1 is the schema every store had before versions
 * were kept (user_version 0, CREATE … IF NOT EXISTS): its migration must adopt such a file as it is.
 *
 * Typed structurally, so runtime needs no SQLite driver of its own: better-sqlite3's Database fits.
 */

/** The part of a better-sqlite3 Database the runner uses. */
export interface MigratableDatabase {
  /** The file path (`:memory:` for a throwaway database). */
  readonly name: string
  exec(sql: string): unknown
  pragma(source: string, options: { simple: true }): unknown
}

export interface SqliteMigration<D extends MigratableDatabase = MigratableDatabase> {
  /** 1, 2, 3… in order, no gaps. */
  version: number
  /** What it changes and why, for the log and whoever reads the list. */
  description: string
  /** Runs inside the migration's transaction: throwing rolls it back and leaves the version as it was. */
  up(db: D): void
}

export class SchemaVersionError extends Error {
  override name = 'SchemaVersionError'
}

export interface MigrationResult {
  /** user_version when the file was opened. */
  from: number
  /** user_version now: the newest this code knows. */
  to: number
  /** The versions this call applied (none when another process had already, or the file was current). */
  applied: number[]
}

const versionOf = (db: MigratableDatabase): number => Number(db.pragma('user_version', { simple: true }))

/** The newest version in a store's list: what its files are brought to. */
export function latestVersion(migrations: readonly SqliteMigration<never>[]): number {
  return migrations.at(-1)?.version ?? 0
}

function checkList(migrations: readonly SqliteMigration<never>[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration list out of order: entry ${i} is version ${m.version}, expected ${i + 1}`)
  })
}

/**
 * Brings the open database to the newest version in `migrations`. Refuses, naming the file and both versions, a file
 * written by a newer version of the platform: its tables may mean something this code would misread or overwrite.
 * Set the busy timeout before calling, so a migration waits for another process's write instead of failing.
 */
export function migrateSqlite<D extends MigratableDatabase>(db: D, migrations: readonly SqliteMigration<D>[]): MigrationResult {
  checkList(migrations)
  const latest = latestVersion(migrations)
  const from = versionOf(db)
  refuseNewer(db, from, latest)
  const applied: number[] = []
  for (const m of migrations) {
    if (m.version <= from) continue
    // IMMEDIATE: the write lock is taken before the version is read again, so two openers cannot both apply it.
    db.exec('BEGIN IMMEDIATE')
    try {
      const now = versionOf(db)
      refuseNewer(db, now, latest)
      if (now < m.version) {
        m.up(db)
        db.pragma(`user_version = ${m.version}`, { simple: true })
        applied.push(m.version)
      }
      db.exec('COMMIT')
    } catch (err) {
      // Some errors end the transaction themselves; then there is nothing left to roll back.
      try {
        db.exec('ROLLBACK')
      } catch {}
      if (err instanceof SchemaVersionError) throw err
      throw new SchemaVersionError(`${db.name}: migration to schema version ${m.version} (${m.description}) failed: ${(err as Error).message}`, {
        cause: err,
      })
    }
  }
  return { from, to: latest, applied }
}

function refuseNewer(db: MigratableDatabase, found: number, latest: number): void {
  if (found > latest)
    throw new SchemaVersionError(
      `${db.name} has schema version ${found}, newer than version ${latest} that this version of the platform knows: ` +
        'it was written by a newer release. Run that release, or restore a backup made with this one (README, Backups).',
    )
}
