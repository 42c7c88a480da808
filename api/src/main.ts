import { loadProvisionedRegistry } from '@mytho/broker'
import { followRedisDirectory } from '@mytho/broker/device-directory-redis'
import { loadRegistryFile } from '@mytho/schema'
import { configOrExit, createLogger, runMain, withMetrics } from '@mytho/runtime'
import { createStoreFromConfig } from '@mytho/storage'
import { createApi } from './api.ts'
import { openOperatorStore } from './auth/operator-store.ts'
import { openRedisOperatorStore } from './auth/operator-store-redis.ts'
import { loadApiConfig } from './config.ts'
import { registerApiMetrics } from './metrics.ts'

const config = configOrExit('api', () => loadApiConfig())
const logger = createLogger(config.LOG_LEVEL, { service: 'api' })

await runMain(
  'api',
  logger,
  async () => {
    const fromFile = loadRegistryFile(config.DEVICE_REGISTRY_FILE)
    // With REDIS_URL the metadata (devices, operators, sessions, audit) is the cluster's, in Redis; else DATA_DIR/meta.sqlite.
    const redis = config.REDIS_URL
    const followed = redis !== undefined ? await followRedisDirectory(redis, fromFile, { logger: logger.child({ part: 'directory' }) }) : undefined
    const registry = followed?.registry ?? loadProvisionedRegistry(config.DATA_DIR, fromFile)
    const store = createStoreFromConfig(config)
    // Sign-in is always on here; AUTH_DISABLED=true (development only) lets anonymous callers act as operators.
    const operators = redis !== undefined ? openRedisOperatorStore(redis, { logger: logger.child({ part: 'operators' }) }) : openOperatorStore(config.DATA_DIR)
    const api = createApi(config, { store, registry, logger, operators })
    return withMetrics(
      'api',
      config.METRICS_PORT,
      {
        start: () => api.start(),
        stop: async () => {
          await api.stop()
          await store.close()
          await operators.close()
          await followed?.close()
        },
      },
      (r) => registerApiMetrics(r, api),
    )
  },
  ({ port }) => process.stdout.write(`api: map and API on ${config.HTTPS_CERT && config.HTTPS_KEY ? 'https' : 'http'}://localhost:${port}/ (API under /api/v1)\n`),
)
