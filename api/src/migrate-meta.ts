/*
 * CLI: copy DATA_DIR/meta.sqlite (device credentials and records, operators, live sessions, audit log) into the
 * Redis at REDIS_URL, once, before the nodes start on it (docs/cluster.md).
 *   DATA_DIR=/data REDIS_URL=redis://redis:6379 npx tsx api/src/migrate-meta.ts
 * What Redis already has is kept; running it twice copies nothing the second time.
 */
import { metaSqlitePath, migrateMetaToRedis } from '@mytho/directory'
import { configOrExit, privateUmask } from '@mytho/runtime'
import { loadApiConfig } from './config.ts'

// Opening meta.sqlite may create its journals (-wal, -shm): this user's alone (0600), as the services'.
privateUmask()
const config = configOrExit('migrate-meta', () => loadApiConfig())
if (config.REDIS_URL === undefined) {
  process.stderr.write('migrate-meta: set REDIS_URL to the Redis the cluster uses\n')
  process.exit(2)
}
try {
  const counts = await migrateMetaToRedis(config.DATA_DIR, config.REDIS_URL)
  process.stdout.write(`copied from ${metaSqlitePath(config.DATA_DIR)}: ${JSON.stringify(counts)}\n`)
} catch (err) {
  process.stderr.write(`migrate-meta: ${(err as Error).message}\n`)
  process.exitCode = 1
}
