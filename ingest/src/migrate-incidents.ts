/*
 * CLI: copy DATA_DIR/alerts.sqlite (incidents, their events and acknowledgements, the rule engine's hold timers)
 * into the Redis at REDIS_URL, once, with the ingest stopped, before the workers and API nodes start on it
 * (docs/cluster.md).
 *   DATA_DIR=/data REDIS_URL=redis://redis:6379 npx tsx ingest/src/migrate-incidents.ts
 * What Redis already has is kept; running it twice copies nothing the second time.
 */
import { Redis } from 'ioredis'
import { alertsSqlitePath, migrateIncidentsToRedis } from '@mytho/alerts'
import { configOrExit, privateUmask } from '@mytho/runtime'
import { loadIngestConfig } from './config.ts'

// Opening alerts.sqlite may create its journals (-wal, -shm): this user's alone (0600), as the services'.
privateUmask()
const config = configOrExit('migrate-incidents', () => loadIngestConfig())
if (config.REDIS_URL === undefined) {
  process.stderr.write('migrate-incidents: set REDIS_URL to the Redis the cluster uses\n')
  process.exit(2)
}
const redis = new Redis(config.REDIS_URL, { lazyConnect: true, connectionName: 'mytho-migrate-incidents' })
try {
  await redis.connect()
  const path = alertsSqlitePath(config.DATA_DIR)
  const counts = await migrateIncidentsToRedis(path, redis)
  process.stdout.write(`copied from ${path}: ${JSON.stringify(counts)}\n`)
} catch (err) {
  process.stderr.write(`migrate-incidents: ${(err as Error).message}\n`)
  process.exitCode = 1
} finally {
  await redis.quit().catch(() => redis.disconnect())
}
