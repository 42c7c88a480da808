import { loadProvisionedRegistry } from '@mytho/broker'
import { loadRegistryFile } from '@mytho/schema'
import { configOrExit, createLogger, runMain, withMetrics } from '@mytho/runtime'
import { createStoreFromConfig } from '@mytho/storage'
import { loadIngestConfig } from './config.ts'
import { createIngest } from './ingest.ts'
import { registerIngestMetrics } from './metrics.ts'

const config = configOrExit('ingest', () => loadIngestConfig())
const logger = createLogger(config.LOG_LEVEL, { service: 'ingest' })

await runMain('ingest', logger, () => {
  const store = createStoreFromConfig(config)
  // The provisioned registry (metadata store, topped up from the file), so admin-provisioned devices are known.
  const registry = loadProvisionedRegistry(config.DATA_DIR, loadRegistryFile(config.DEVICE_REGISTRY_FILE))
  const ingest = createIngest(config, { store, registry, logger })
  return withMetrics(
    'ingest',
    config.METRICS_PORT,
    {
      start: () => ingest.start(),
      stop: async () => {
        await ingest.stop()
        await store.close()
      },
    },
    (r) => registerIngestMetrics(r, ingest),
  )
}, () => logger.info('ingest subscribed', { mqtt: config.MQTT_URL, storage: config.INFLUX_URL ?? `sqlite ${config.DATA_DIR}/readings.sqlite` }))
