/*
 * CLI: the open-data files of one local day (default yesterday, Asia/Ho_Chi_Minh), per kind a places GeoJSON and an
 * hourly CSV, into OPEN_DATA_DIR (default DATA_DIR/open-data)/<day>/ — api/src/open-data.ts says what is in them.
 *   npm run export:open-data                 # yesterday
 *   npm run export:open-data -- 2026-12-04   # a given day
 * It reads the store the API reads (SQLite in DATA_DIR, or InfluxDB with INFLUX_URL) and the device directory (the
 * public flag an admin sets). A daily job: cron or a systemd timer after midnight, e.g. `15 0 * * *`.
 */
import { openProvisionedRegistryFromConfig } from '@mytho/directory'
import { configOrExit, createLogger } from '@mytho/runtime'
import { loadRegistryFile } from '@mytho/schema'
import { createStoreFromConfig } from '@mytho/storage'
import { loadApiConfig } from './config.ts'
import { exportOpenData, yesterdayLocal } from './open-data.ts'

const config = configOrExit('export-open-data', () => loadApiConfig())
const logger = createLogger(config.LOG_LEVEL, { service: 'export-open-data' })
const day = process.argv[2] ?? yesterdayLocal(Date.now())
const outDir = config.OPEN_DATA_DIR ?? `${config.DATA_DIR}/open-data`
const directory = await openProvisionedRegistryFromConfig(config, loadRegistryFile(config.DEVICE_REGISTRY_FILE), { logger })
const store = createStoreFromConfig(config, { role: 'reader', logger })
try {
  await store.init()
  const out = await exportOpenData({ store, devices: directory.registry.devices, day, outDir })
  process.stdout.write(
    `${out.dir}: ${Object.entries(out.rows)
      .map(([k, n]) => `${k} ${n} rows`)
      .join(', ')}\n`,
  )
} catch (err) {
  process.stderr.write(`export-open-data: ${(err as Error).message}\n`)
  process.exitCode = 1
} finally {
  await store.close()
  await directory.close()
}
