import { createHash } from 'node:crypto'
import { chmodSync, closeSync, copyFileSync, createReadStream, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, writeFileSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import Database from 'better-sqlite3'
import { z } from 'zod'

/*
 * `npm run backup`: a copy of DATA_DIR that is safe to take while the platform runs and writes. Each SQLite file
 * (readings, meta, alerts, spools) goes through SQLite's online backup API in one step, so the copy is one consistent
 * snapshot of that file, WAL included, whatever other processes commit meanwhile; every other file (the secrets) is
 * copied as a file. A manifest lists each with its size, sha256, mode and schema version, for `npm run restore`
 * (restore.ts) to check before it writes anything. The backup folder is 0700 and its files 0600: secrets live in it.
 */

export const MANIFEST_FILE = 'manifest.json'
/** The backed-up DATA_DIR's files, under the backup folder. */
export const BACKUP_DATA_FOLDER = 'data'

export const BackupFile = z.object({
  /** Relative to DATA_DIR, `/`-separated. */
  path: z.string().min(1),
  type: z.enum(['sqlite', 'file']),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** The file's permission bits in DATA_DIR, octal; restore keeps the owner's and drops the rest. */
  mode: z.string().regex(/^0[0-7]{3}$/),
  /** PRAGMA user_version: the schema version of a SQLite file. */
  userVersion: z.number().int().nonnegative().optional(),
})
export type BackupFile = z.infer<typeof BackupFile>

export const BackupManifest = z.object({
  format: z.literal('mytho-backup/1'),
  /** When the backup started and finished, UTC. */
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
  /** The DATA_DIR it was taken from. */
  dataDir: z.string(),
  files: z.array(BackupFile),
  /** What was left out, and why. */
  skipped: z.array(z.object({ path: z.string(), reason: z.string() })),
})
export type BackupManifest = z.infer<typeof BackupManifest>

export class BackupError extends Error {
  override name = 'BackupError'
}

/**
 * The broker's LevelDB sessions: LevelDB has no online backup, and a copy of files it is writing is not a database.
 * What they hold is in flight (the ingest's queue while it is away, retained statuses); devices resend what was not
 * acknowledged to them, and resend their status when they reconnect.
 */
const SKIPPED_FOLDERS: Record<string, string> = {
  'broker-sessions': 'the broker’s MQTT sessions (LevelDB) cannot be copied while the broker runs; they hold messages in flight, which devices resend',
}

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1')
/** SQLite's own companions of a database file: the backup API reads through them. */
const SQLITE_COMPANION = /-(wal|shm|journal)$/
/** A file being written atomically (written to NAME.PID.tmp, then renamed): the finished one is copied instead. */
const IN_PROGRESS = /\.tmp$/

function isSqlite(path: string): boolean {
  const fd = openSync(path, 'r')
  try {
    const head = Buffer.alloc(SQLITE_HEADER.length)
    return readSync(fd, head, 0, head.length, 0) === head.length && head.equals(SQLITE_HEADER)
  } finally {
    closeSync(fd)
  }
}

export async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

const octal = (mode: number): string => `0${(mode & 0o777).toString(8).padStart(3, '0')}`

/** 20261205T043000Z: sorts by time, and is a valid folder name everywhere. */
export const backupStamp = (d: Date): string =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z')

export interface BackupOptions {
  /** The clock of the folder name and the manifest; default new Date(). */
  now?: () => Date
}

export interface BackupResult {
  /** The new backup folder. */
  dir: string
  manifest: BackupManifest
}

/**
 * Backs DATA_DIR up into a new folder `mytho-backup-<UTC time>` under `outRoot`. Safe while the platform runs: no
 * file of DATA_DIR is written, and each SQLite file is read in one read transaction, which never blocks a writer
 * (WAL). Refuses an `outRoot` inside DATA_DIR, which would back the backups up.
 */
export async function backupDataDir(dataDir: string, outRoot: string, opts: BackupOptions = {}): Promise<BackupResult> {
  const now = opts.now ?? (() => new Date())
  const started = now()
  if (!lstatSync(dataDir, { throwIfNoEntry: false })?.isDirectory()) throw new BackupError(`DATA_DIR ${dataDir} is not a folder`)
  const rel = relative(dataDir, outRoot)
  if (rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep)))
    throw new BackupError(`the backup folder ${outRoot} is inside DATA_DIR ${dataDir}: choose one outside it`)

  mkdirSync(outRoot, { recursive: true, mode: 0o700 })
  const dir = join(outRoot, `mytho-backup-${backupStamp(started)}`)
  try {
    mkdirSync(dir, { mode: 0o700 })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new BackupError(`${dir} exists already: a backup was started in the same second`)
    throw err
  }
  const files: BackupFile[] = []
  const skipped: BackupManifest['skipped'] = []

  const visit = async (from: string, relPath: string): Promise<void> => {
    for (const entry of readdirSync(from, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const src = join(from, entry.name)
      const path = relPath === '' ? entry.name : `${relPath}/${entry.name}`
      const dest = join(dir, BACKUP_DATA_FOLDER, ...path.split('/'))
      if (entry.isDirectory()) {
        if (relPath === '' && SKIPPED_FOLDERS[entry.name]) {
          skipped.push({ path, reason: SKIPPED_FOLDERS[entry.name]! })
          continue
        }
        await visit(src, path)
        continue
      }
      if (!entry.isFile()) {
        skipped.push({ path, reason: 'not a regular file (a symbolic link, a socket): DATA_DIR’s own files only' })
        continue
      }
      if (SQLITE_COMPANION.test(entry.name) || IN_PROGRESS.test(entry.name)) continue
      let mode: number
      try {
        mode = lstatSync(src).mode
      } catch (err) {
        // Gone between the listing and now (an orphan spool drained and removed): nothing to keep.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
        throw err
      }
      mkdirSync(join(dest, '..'), { recursive: true, mode: 0o700 })
      if (isSqlite(src)) files.push({ path, type: 'sqlite', mode: octal(mode), ...(await backupSqlite(src, dest)) })
      else {
        copyFileSync(src, dest)
        chmodSync(dest, 0o600)
        files.push({ path, type: 'file', mode: octal(mode), bytes: lstatSync(dest).size, sha256: await sha256Of(dest) })
      }
    }
  }
  await visit(dataDir, '')

  const manifest: BackupManifest = {
    format: 'mytho-backup/1',
    startedAt: started.toISOString(),
    finishedAt: now().toISOString(),
    dataDir,
    files,
    skipped,
  }
  const manifestPath = join(dir, MANIFEST_FILE)
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 })
  const fd = openSync(manifestPath, 'r')
  fsyncSync(fd)
  closeSync(fd)
  return { dir, manifest }
}

/** One database through the online backup API; the copy leaves WAL mode, so it is one self-contained file. */
async function backupSqlite(src: string, dest: string): Promise<Pick<BackupFile, 'bytes' | 'sha256' | 'userVersion'>> {
  const source = new Database(src, { readonly: true, fileMustExist: true })
  try {
    // All remaining pages in one step: one read transaction, so another process's commit cannot restart the copy
    // (a copy in small steps starts over at every commit of another connection, and never ends under steady writes).
    await source.backup(dest, { progress: () => 0x7fffffff })
  } finally {
    source.close()
  }
  const copy = new Database(dest, { fileMustExist: true })
  try {
    copy.pragma('journal_mode = DELETE')
    const check = copy.pragma('quick_check', { simple: true })
    if (check !== 'ok') throw new BackupError(`the copy of ${src} fails SQLite's quick_check: ${String(check)}`)
    const userVersion = Number(copy.pragma('user_version', { simple: true }))
    copy.close()
    chmodSync(dest, 0o600)
    return { bytes: lstatSync(dest).size, sha256: await sha256Of(dest), userVersion }
  } finally {
    if (copy.open) copy.close()
  }
}

/**
 * What `npm run backup` cannot copy itself: the time series in InfluxDB and the cluster's state in Redis live in
 * their own servers. Printed after every backup, with the commands for the setups the README describes.
 */
export function externalBackupSteps(env: { INFLUX_URL?: string | undefined; REDIS_URL?: string | undefined }, backupDir: string): string[] {
  const lines: string[] = []
  if (env.INFLUX_URL)
    lines.push(
      `Readings are in InfluxDB (${env.INFLUX_URL}), not in this backup. Back it up with InfluxDB's own tool, into ${backupDir}/influxdb:`,
      "  InfluxDB 2.x (docker compose; the container's influx CLI was set up with the admin token, elsewhere add -t <admin token>):",
      '    docker compose exec influxdb influx backup /var/lib/influxdb2/backup-<UTC time>',
      '    docker compose cp influxdb:/var/lib/influxdb2/backup-<UTC time> ./influxdb',
      '    restore, replacing everything on a new InfluxDB: influx restore --full <folder>',
      '  InfluxDB 1.x (influxd on the host, its RPC port 8088):',
      '    influxd backup -portable <folder>',
      '    restore (influxd running, database absent): influxd restore -portable <folder>',
    )
  if (env.REDIS_URL)
    lines.push(
      `The cluster's state (credentials, operators, sessions, incidents) is in Redis (${env.REDIS_URL}), not in this backup.`,
      '  compose runs Redis with appendonly yes: copy its append-only files while no rewrite runs',
      '  (redis-cli needs REDISCLI_AUTH set when Redis has a password):',
      '    docker compose exec redis redis-cli CONFIG SET auto-aof-rewrite-percentage 0',
      '    docker compose exec redis redis-cli INFO persistence     (wait for aof_rewrite_in_progress:0)',
      '    docker compose cp redis:/data/appendonlydir ./redis-appendonlydir',
      '    docker compose exec redis redis-cli CONFIG SET auto-aof-rewrite-percentage 100',
      '  or a snapshot: redis-cli BGSAVE, wait for rdb_bgsave_in_progress:0 and rdb_last_bgsave_status:ok in',
      '  INFO persistence, then docker compose cp redis:/data/dump.rdb ./redis-dump.rdb',
      '  restore: stop Redis; put the copied appendonlydir in its /data (or, for dump.rdb, start it once with',
      '  appendonly no, then redis-cli CONFIG SET appendonly yes before the platform starts); start Redis.',
    )
  return lines
}
