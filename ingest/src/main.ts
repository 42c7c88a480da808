import { loadRegistryFile } from '@mytho/schema'
import { configOrExit, createLogger, runMain } from '@mytho/runtime'
import { createStoreFromConfig } from '@mytho/storage'
import { loadIngestConfig } from './config.ts'
import { createIngest } from './ingest.ts'

const config = configOrExit('ingest', () => loadIngestConfig())
const logger = createLogger(config.LOG_LEVEL, { service: 'ingest' })

await runMain('ingest', logger, () => {
  const store = createStoreFromConfig(config)
  const ingest = createIngest(config, { store, registry: loadRegistryFile(config.DEVICE_REGISTRY_FILE), logger })
  return {
    start: () => ingest.start(),
    stop: async () => {
      await ingest.stop()
      await store.close()
    },
  }
}, () => logger.info('ingest subscribed', { mqtt: config.MQTT_URL, storage: config.INFLUX_URL ?? `sqlite ${config.DATA_DIR}/readings.sqlite` }))
