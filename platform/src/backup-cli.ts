import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { commonEnv, parseEnv } from '@mytho/runtime'
import { BackupError, backupDataDir, externalBackupSteps } from './backup.ts'
import { restoreBackup } from './restore.ts'

/*
 * npm run backup  [-- --out <folder>]                         (DATA_DIR from the environment, default ./data)
 * npm run restore -- <backup folder> [--force]
 * README, "Backups and restore". Exit code 1, with the reason, when anything is refused or fails.
 */

const USAGE = `usage:
  npm run backup  [-- --out <folder, default ./backups>] [--data-dir <DATA_DIR>]
  npm run restore -- <backup folder> [--data-dir <DATA_DIR>] [--force]`

const kib = (n: number): string => `${Math.max(1, Math.round(n / 1024)).toLocaleString('en')} KiB`

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { out: { type: 'string' }, 'data-dir': { type: 'string' }, force: { type: 'boolean', default: false }, help: { type: 'boolean' } },
  })
  if (values.help) return void console.log(USAGE)
  const env = parseEnv(commonEnv.pick({ DATA_DIR: true, INFLUX_URL: true }))
  const base = process.env['INIT_CWD'] ?? process.cwd()
  const dataDir = values['data-dir'] !== undefined ? resolve(base, values['data-dir']) : env.DATA_DIR

  if (command === 'backup') {
    const out = resolve(base, values.out ?? './backups')
    const { dir, manifest } = await backupDataDir(dataDir, out)
    console.log(`Backup of ${dataDir} written to ${dir}  (${manifest.startedAt} → ${manifest.finishedAt} UTC)`)
    for (const f of manifest.files)
      console.log(
        `  ${f.path.padEnd(32)} ${kib(f.bytes).padStart(12)}  ${f.type === 'sqlite' ? `schema v${f.userVersion}` : 'file'}  sha256 ${f.sha256.slice(0, 12)}…`,
      )
    for (const s of manifest.skipped) console.log(`  skipped ${s.path}: ${s.reason}`)
    const steps = externalBackupSteps({ INFLUX_URL: env.INFLUX_URL, REDIS_URL: process.env['REDIS_URL'] }, dir)
    if (steps.length > 0) console.log(`\n${steps.join('\n')}`)
    console.log(`\nRestore, with the platform stopped: npm run restore -- ${dir}  (in the image: node platform/dist/backup.js restore ${dir})`)
    return
  }
  if (command === 'restore') {
    if (positionals.length !== 1) throw new BackupError(`name one backup folder\n${USAGE}`)
    const from = resolve(base, positionals[0]!)
    const { manifest, restored } = await restoreBackup(from, dataDir, { force: values.force })
    console.log(`Restored ${restored.length} files of the backup of ${manifest.startedAt} into ${dataDir} (checksums verified, folders 0700, files 0600).`)
    for (const s of manifest.skipped) console.log(`  not in the backup: ${s.path} (${s.reason})`)
    console.log('Start the platform: each store checks its schema version and brings an older file up to date.')
    return
  }
  throw new BackupError(USAGE)
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof BackupError ? err.message : err)
  process.exitCode = 1
})
