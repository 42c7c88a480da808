import { loadRegistryFile } from '@mytho/schema'
import { configOrExit, createLogger, runMain } from '@mytho/runtime'
import { createStoreFromConfig } from '@mytho/storage'
import { createApi } from './api.ts'
import { loadApiConfig } from './config.ts'

const config = configOrExit('api', () => loadApiConfig())
const logger = createLogger(config.LOG_LEVEL, { service: 'api' })

await runMain(
  'api',
  logger,
  () => {
    const store = createStoreFromConfig(config)
    const api = createApi(config, { store, registry: loadRegistryFile(config.DEVICE_REGISTRY_FILE), logger })
    return {
      start: () => api.start(),
      stop: async () => {
        await api.stop()
        await store.close()
      },
    }
  },
  ({ port }) => process.stdout.write(`api: map and API on http://localhost:${port}/ (API under /api/v1)\n`),
)
