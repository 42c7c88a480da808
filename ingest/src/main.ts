// First: the libraries' debug loggers are made when they load (packages/runtime/src/debug-off.ts says why).
import '@mytho/runtime/debug-off'
import { openProvisionedRegistryFromConfig } from '@mytho/directory'
import { loadRegistryFile } from '@mytho/schema'
import { configOrExit, createLogger, redactUrl, runMain, withMetrics } from '@mytho/runtime'
import { createStoreFromConfig } from '@mytho/storage'
import { loadIngestConfig } from './config.ts'
import { createIngest } from './ingest.ts'
import { ingestHealthReport, registerIngestMetrics } from './metrics.ts'

const config = configOrExit('ingest', () => loadIngestConfig())
const logger = createLogger(config.LOG_LEVEL, { service: 'ingest' })

await runMain(
  'ingest',
  logger,
  async () => {
    const fromFile = loadRegistryFile(config.DEVICE_REGISTRY_FILE)
    // The provisioned registry (metadata store, topped up from the file), so admin-provisioned devices are known. On a
    // cluster that store is Redis's directory: a worker on another host has no meta.sqlite to read. Either is re-read
    // every few seconds (registry-follow.ts): a device provisioned, moved, disabled or enabled reaches it without a restart.
    const provisioned = await openProvisionedRegistryFromConfig(config, fromFile, { logger: logger.child({ part: 'directory' }) })
    const store = createStoreFromConfig(config, { role: 'writer', logger })
    const ingest = createIngest(config, { store, registry: provisioned.registry, resyncRegistry: provisioned.resync, logger })
    return withMetrics(
      'ingest',
      config,
      {
        start: () => ingest.start(),
        stop: async () => {
          await ingest.stop()
          await store.close()
          await provisioned.close()
        },
      },
      (r) => registerIngestMetrics(r, ingest),
      () => ingestHealthReport(ingest),
    )
  },
  () =>
    logger.info('ingest subscribed', {
      mqtt: redactUrl(config.MQTT_URL),
      storage: config.INFLUX_URL !== undefined ? redactUrl(config.INFLUX_URL) : `sqlite ${config.DATA_DIR}/readings.sqlite`,
    }),
  { dataDir: config.DATA_DIR },
)
