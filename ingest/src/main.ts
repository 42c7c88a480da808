import { loadProvisionedRegistry } from '@mytho/broker'
import { followRedisDirectory } from '@mytho/broker/device-directory-redis'
import { loadRegistryFile } from '@mytho/schema'
import { configOrExit, createLogger, redactUrl, runMain, withMetrics } from '@mytho/runtime'
import { createStoreFromConfig } from '@mytho/storage'
import { loadIngestConfig } from './config.ts'
import { createIngest } from './ingest.ts'
import { registerIngestMetrics } from './metrics.ts'

const config = configOrExit('ingest', () => loadIngestConfig())
const logger = createLogger(config.LOG_LEVEL, { service: 'ingest' })

await runMain('ingest', logger, async () => {
  const fromFile = loadRegistryFile(config.DEVICE_REGISTRY_FILE)
  // The provisioned registry (metadata store, topped up from the file), so admin-provisioned devices are known. On a
  // cluster that store is Redis's directory, followed live: a worker on another host has no meta.sqlite to read.
  const followed = config.REDIS_URL !== undefined ? await followRedisDirectory(config.REDIS_URL, fromFile, { logger: logger.child({ part: 'directory' }) }) : undefined
  const registry = followed?.registry ?? loadProvisionedRegistry(config.DATA_DIR, fromFile)
  const store = createStoreFromConfig(config)
  const ingest = createIngest(config, { store, registry, logger })
  return withMetrics(
    'ingest',
    config.METRICS_PORT,
    {
      start: () => ingest.start(),
      stop: async () => {
        await ingest.stop()
        await store.close()
        await followed?.close()
      },
    },
    (r) => registerIngestMetrics(r, ingest),
  )
}, () => logger.info('ingest subscribed', { mqtt: redactUrl(config.MQTT_URL), storage: config.INFLUX_URL !== undefined ? redactUrl(config.INFLUX_URL) : `sqlite ${config.DATA_DIR}/readings.sqlite` }), { dataDir: config.DATA_DIR })
