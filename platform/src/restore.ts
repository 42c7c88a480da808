import { chmodSync, closeSync, copyFileSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { BACKUP_DATA_FOLDER, BackupError, BackupManifest, MANIFEST_FILE, sha256Of } from './backup.ts'

/*
 * `npm run restore`: a backup made by `npm run backup` (backup.ts) back into a DATA_DIR, with the platform stopped.
 * Everything is checked before anything is written: the manifest, every file's size and sha256. The target must be
 * empty unless `force` is given (then the backup's files replace theirs, and a restored database's stale -wal/-shm
 * are removed, which SQLite would otherwise replay into it). Folders are made 0700 and files keep their owner's bits
 * only (0600): the secrets and credential hashes are for the platform's user alone. Each file is written beside its
 * place and renamed, so an interrupted restore leaves no half-written database under the real name.
 */

export interface RestoreOptions {
  /** Restore into a DATA_DIR that has files. */
  force?: boolean
}

export interface RestoreResult {
  manifest: BackupManifest
  /** Files written, by path relative to DATA_DIR. */
  restored: string[]
}

/** A manifest path that stays inside DATA_DIR: relative, no `..`, no empty segment. */
const SafePath = z.string().refine((p) => !p.startsWith('/') && p.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..'), {
  message: 'not a plain relative path',
})

export function readManifest(backupDir: string): BackupManifest {
  const file = join(backupDir, MANIFEST_FILE)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new BackupError(`${file}: no backup manifest there (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new BackupError(`${file} is not JSON: ${(err as Error).message}`)
  }
  const parsed = BackupManifest.safeParse(json)
  if (!parsed.success) throw new BackupError(`${file} is not a backup manifest: ${z.prettifyError(parsed.error)}`)
  for (const f of parsed.data.files)
    if (!SafePath.safeParse(f.path).success) throw new BackupError(`${file}: file path ${JSON.stringify(f.path)} would leave DATA_DIR`)
  return parsed.data
}

/** Every file of the backup present, with the size and sha256 the manifest says; throws naming each that is not. */
export async function verifyBackup(backupDir: string): Promise<BackupManifest> {
  const manifest = readManifest(backupDir)
  const problems: string[] = []
  for (const f of manifest.files) {
    const path = join(backupDir, BACKUP_DATA_FOLDER, ...f.path.split('/'))
    const st = lstatSync(path, { throwIfNoEntry: false })
    if (!st?.isFile()) problems.push(`${f.path}: missing`)
    else if (st.size !== f.bytes) problems.push(`${f.path}: ${st.size} bytes, the manifest says ${f.bytes}`)
    else if ((await sha256Of(path)) !== f.sha256) problems.push(`${f.path}: sha256 differs from the manifest's`)
  }
  if (problems.length > 0) throw new BackupError(`backup ${backupDir} does not match its manifest, nothing restored:\n  ${problems.join('\n  ')}`)
  return manifest
}

const isEmptyOrAbsent = (dir: string): boolean => {
  try {
    return readdirSync(dir).length === 0
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true
    throw err
  }
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

export async function restoreBackup(backupDir: string, dataDir: string, opts: RestoreOptions = {}): Promise<RestoreResult> {
  const manifest = await verifyBackup(backupDir)
  if (!opts.force && !isEmptyOrAbsent(dataDir))
    throw new BackupError(
      `DATA_DIR ${dataDir} is not empty: restore into an empty folder, or give --force to replace its files with the backup's (stop the platform first)`,
    )
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  chmodSync(dataDir, 0o700)
  const restored: string[] = []
  for (const f of manifest.files) {
    const segments = f.path.split('/')
    const dest = join(dataDir, ...segments)
    for (let i = 1; i < segments.length; i++) {
      const folder = join(dataDir, ...segments.slice(0, i))
      mkdirSync(folder, { recursive: true, mode: 0o700 })
      chmodSync(folder, 0o700)
    }
    const tmp = `${dest}.restore-${process.pid}.tmp`
    copyFileSync(join(backupDir, BACKUP_DATA_FOLDER, ...segments), tmp)
    // The owner's bits as they were (0600 for every file the platform writes); never the group's or others'.
    chmodSync(tmp, (Number.parseInt(f.mode, 8) & 0o700) | 0o600)
    fsyncPath(tmp)
    if (f.type === 'sqlite') for (const companion of ['-wal', '-shm', '-journal']) rmSync(`${dest}${companion}`, { force: true })
    renameSync(tmp, dest)
    restored.push(f.path)
  }
  fsyncPath(dataDir)
  // Read back what landed under the real names: a full disk or a failing copy is caught here, not at the first start.
  const problems: string[] = []
  for (const f of manifest.files) if ((await sha256Of(join(dataDir, ...f.path.split('/')))) !== f.sha256) problems.push(f.path)
  if (problems.length > 0) throw new BackupError(`restored files differ from the backup: ${problems.join(', ')}`)
  return { manifest, restored }
}
