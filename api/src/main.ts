// First: the libraries' debug loggers are made when they load (packages/runtime/src/debug-off.ts says why).
import '@mytho/runtime/debug-off'
import { openOperatorStoreFromConfig, openProvisionedRegistryFromConfig } from '@mytho/directory'
import { loadRegistryFile } from '@mytho/schema'
import {
  bindHost,
  colourOn,
  configOrExit,
  createLogger,
  isLoopback,
  networkUrls,
  runMain,
  signInOffWarning,
  urlHost,
  warningBlock,
  withMetrics,
} from '@mytho/runtime'
import { createStoreFromConfig } from '@mytho/storage'
import { createApi } from './api.ts'
import { loadApiConfig } from './config.ts'
import { registerApiMetrics } from './metrics.ts'

const config = configOrExit('api', () => {
  const c = loadApiConfig()
  // AUTH_DISABLED=true (development): anyone who reaches the API acts as an operator, so it listens on 127.0.0.1
  // unless HTTP_HOST is set (issue #15).
  return { ...c, HTTP_HOST: bindHost(process.env, 'HTTP_HOST', c.HTTP_HOST, c.AUTH_DISABLED) }
})
const logger = createLogger(config.LOG_LEVEL, { service: 'api' })
const scheme = config.HTTPS_CERT && config.HTTPS_KEY ? 'https' : 'http'

await runMain(
  'api',
  logger,
  async () => {
    const fromFile = loadRegistryFile(config.DEVICE_REGISTRY_FILE)
    // With REDIS_URL the metadata (devices, operators, sessions, audit) is the cluster's, in Redis; else DATA_DIR/meta.sqlite.
    const provisioned = await openProvisionedRegistryFromConfig(config, fromFile, { logger: logger.child({ part: 'directory' }) })
    // A reader: with a read-only InfluxDB token it creates nothing and reads the roll-ups the ingest keeps.
    const store = createStoreFromConfig(config, { role: 'reader', logger })
    // Sign-in is always on here; AUTH_DISABLED=true (development only) lets anonymous callers act as operators.
    const operators = openOperatorStoreFromConfig(config, { logger: logger.child({ part: 'operators' }) })
    const api = createApi(config, { store, registry: provisioned.registry, resyncRegistry: provisioned.resync, logger, operators })
    return withMetrics(
      'api',
      config,
      {
        start: () => api.start(),
        stop: async () => {
          await api.stop()
          await store.close()
          await operators.close()
          await provisioned.close()
        },
      },
      (r) => registerApiMetrics(r, api),
    )
  },
  ({ port }) => {
    const web = (h: string) => `${scheme}://${h}:${port}/`
    let banner = `api: map and API on ${web(urlHost(config.HTTP_HOST))} (API under /api/v1)\n`
    if (config.AUTH_DISABLED && !isLoopback(config.HTTP_HOST)) {
      const urls = networkUrls(config.HTTP_HOST, web)
      logger.warn('sign-in is disabled (AUTH_DISABLED=true) and the map is reachable from the network: HTTP_HOST is not loopback', {
        host: config.HTTP_HOST,
        urls,
      })
      banner += `${warningBlock(signInOffWarning(urls, 'HTTP_HOST'), colourOn(process.stdout))}\n`
    }
    process.stdout.write(banner)
  },
  { dataDir: config.DATA_DIR },
)
