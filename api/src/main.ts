import { loadProvisionedRegistry } from '@mytho/broker'
import { loadRegistryFile } from '@mytho/schema'
import { configOrExit, createLogger, runMain, withMetrics } from '@mytho/runtime'
import { createStoreFromConfig } from '@mytho/storage'
import { createApi } from './api.ts'
import { openOperatorStore } from './auth/operator-store.ts'
import { loadApiConfig } from './config.ts'
import { registerApiMetrics } from './metrics.ts'

const config = configOrExit('api', () => loadApiConfig())
const logger = createLogger(config.LOG_LEVEL, { service: 'api' })

await runMain(
  'api',
  logger,
  () => {
    const store = createStoreFromConfig(config)
    // Sign-in is always on here; AUTH_DISABLED=true (development only) lets anonymous callers act as operators.
    const operators = openOperatorStore(config.DATA_DIR)
    const api = createApi(config, { store, registry: loadProvisionedRegistry(config.DATA_DIR, loadRegistryFile(config.DEVICE_REGISTRY_FILE)), logger, operators })
    return withMetrics(
      'api',
      config.METRICS_PORT,
      {
        start: () => api.start(),
        stop: async () => {
          await api.stop()
          await store.close()
          operators.close()
        },
      },
      (r) => registerApiMetrics(r, api),
    )
  },
  ({ port }) => process.stdout.write(`api: map and API on ${config.HTTPS_CERT && config.HTTPS_KEY ? 'https' : 'http'}://localhost:${port}/ (API under /api/v1)\n`),
)
