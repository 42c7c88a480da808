// First: the libraries' debug loggers are made when they load (packages/runtime/src/debug-off.ts says why).
import '@mytho/runtime/debug-off'
import { registerBrokerMetrics } from '@mytho/broker'
import { openProvisionedRegistryFromConfig } from '@mytho/directory'
import { ingestHealthReport, registerIngestMetrics } from '@mytho/ingest'
import { loadRegistryFile } from '@mytho/schema'
import { configOrExit, createLogger, runMain, withMetrics } from '@mytho/runtime'
import { createStoreFromConfig } from '@mytho/storage'
import { createEmbeddedPipeline, loadEmbeddedConfig } from './embedded.ts'

// Broker and ingest in one process (embedded.ts): run this instead of broker/src/main.ts and ingest/src/main.ts.
const config = configOrExit('broker+ingest', () => loadEmbeddedConfig())
const logger = createLogger(config.ingest.LOG_LEVEL, { service: 'broker+ingest' })

await runMain(
  'broker+ingest',
  logger,
  async () => {
    // The store's registry, re-read every few seconds (registry-follow.ts), so a provisioned device is accepted without a restart.
    const provisioned = await openProvisionedRegistryFromConfig(config.ingest, loadRegistryFile(config.ingest.DEVICE_REGISTRY_FILE), {
      logger: logger.child({ part: 'directory' }),
    })
    const store = createStoreFromConfig(config.ingest)
    const pipeline = await createEmbeddedPipeline(config, { store, registry: provisioned.registry, resyncRegistry: provisioned.resync, logger })
    return withMetrics(
      'broker+ingest',
      config.ingest,
      {
        start: () => pipeline.start(),
        stop: async () => {
          await pipeline.stop()
          await store.close()
          await provisioned.close()
        },
      },
      (r) => {
        registerBrokerMetrics(r, pipeline.broker)
        registerIngestMetrics(r, pipeline.ingest)
      },
      () => ingestHealthReport(pipeline.ingest),
    )
  },
  ({ mqttPort, wsPort, tlsPort }) => {
    const host = config.broker.MQTT_HOST === '0.0.0.0' ? 'localhost' : config.broker.MQTT_HOST
    const storage = config.ingest.INFLUX_URL ?? `sqlite ${config.ingest.DATA_DIR}/readings.sqlite`
    process.stdout.write(
      `broker+ingest: MQTT mqtt://${host}:${mqttPort}  WebSocket ${wsPort === undefined ? 'off' : `ws://${host}:${wsPort}/mqtt`}${tlsPort === undefined ? '' : `  TLS mqtts://${host}:${tlsPort}`}  ingest embedded → ${storage}\n`,
    )
  },
  { dataDir: config.ingest.DATA_DIR },
)
