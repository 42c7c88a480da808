/*
 * npm start — the whole platform in one process on the embedded default (SQLite in DATA_DIR):
 * broker, ingest, API + map and the device simulator, each configured from the same environment
 * variables it reads when started alone. Prints where to look.
 */
import { join } from 'node:path'
import { z } from 'zod'
import { createApi, demoAdminPath, loadApiConfig, openOperatorStore } from '@mytho/api'
import { createBroker, loadBrokerConfig, loadProvisionedRegistry } from '@mytho/broker'
import { backfillRecent, createSimulator, loadSimConfig } from '@mytho/devices-sim'
import { createIngest, loadIngestConfig } from '@mytho/ingest'
import { loadRegistryFile } from '@mytho/schema'
import { configOrExit, createLogger, demoSecretsPath, env, parseEnv, runMain, type Service } from '@mytho/runtime'
import { createStoreFromConfig, SQLITE_FILE } from '@mytho/storage'

const startEnv = z.object({
  /** Run the device simulator with the platform. Default true. */
  START_SIMULATOR: env.bool(true),
})

const DEMO = process.env['NODE_ENV'] !== 'production'
const configs = configOrExit('start', () => ({
  start: parseEnv(startEnv),
  broker: loadBrokerConfig(),
  ingest: loadIngestConfig(),
  // The one-command demo: until the map has its sign-in page, anonymous visitors act as operators
  // (AUTH_DISABLED) and an admin with a generated password is made for the admin routes. Neither in
  // NODE_ENV=production, and either can be set explicitly.
  api: loadApiConfig({ ...(DEMO ? { AUTH_DISABLED: 'true', AUTH_DEMO_ADMIN: 'true' } : {}), ...process.env }),
  sim: loadSimConfig(),
}))
const logger = createLogger(configs.broker.LOG_LEVEL, { service: 'platform' })

function platform(): Service<string> {
  // The simulator plays the file's fleet (it has their demo secrets); the services know every provisioned device.
  const fleet = loadRegistryFile(configs.broker.DEVICE_REGISTRY_FILE)
  const registry = loadProvisionedRegistry(configs.broker.DATA_DIR, fleet)
  const store = createStoreFromConfig(configs.api)
  const stops: (() => Promise<void>)[] = []
  return {
    async start() {
      const broker = await createBroker(configs.broker, { registry, logger: logger.child({ part: 'broker' }) })
      stops.unshift(() => broker.stop())
      const { mqttPort, wsPort } = await broker.start()
      const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`

      const ingest = createIngest({ ...configs.ingest, MQTT_URL: mqttUrl }, { store, registry, logger: logger.child({ part: 'ingest' }) })
      stops.unshift(() => ingest.stop())
      await ingest.start()

      const operators = openOperatorStore(configs.api.DATA_DIR)
      stops.unshift(async () => operators.close())
      const api = createApi({ ...configs.api, MQTT_URL: mqttUrl }, { store, registry, logger: logger.child({ part: 'api' }), operators })
      stops.unshift(() => api.stop())
      const { port: httpPort } = await api.start()

      let simLine = 'off (START_SIMULATOR=false)'
      if (configs.start.START_SIMULATOR) {
        // Charts have history on first start; the same readings at the same keys, so a rerun stores nothing twice.
        await backfillRecent({ ...configs.sim, MQTT_URL: mqttUrl }, { registry: fleet, logger: logger.child({ part: 'backfill' }) })
        const sim = createSimulator({ ...configs.sim, MQTT_URL: mqttUrl }, { registry: fleet, logger: logger.child({ part: 'devices-sim' }) })
        stops.unshift(() => sim.stop())
        const { devices } = await sim.start()
        simLine = `${devices} devices of the seed fleet publishing (SIM_SPEED=${configs.sim.SIM_SPEED})`
      }
      stops.push(() => store.close())

      const storage = configs.api.INFLUX_URL ? `InfluxDB ${configs.api.INFLUX_URL} db ${configs.api.INFLUX_DB}` : `SQLite ${join(configs.api.DATA_DIR, SQLITE_FILE)}`
      return [
        '',
        'Mỹ Tho telemetry platform is running',
        `  MQTT        mqtt://localhost:${mqttPort}${wsPort !== undefined ? `   (WebSocket ws://localhost:${wsPort}/mqtt)` : ''}`,
        `  Map + API   http://localhost:${httpPort}/   (API http://localhost:${httpPort}/api/v1/devices)`,
        `  Simulator   ${simLine}`,
        `  Storage     ${storage}`,
        `  Secrets     ${demoSecretsPath(configs.broker.DATA_DIR)} (demo device passwords, never commit)`,
        configs.api.AUTH_DISABLED
          ? `  Sign-in     DISABLED (AUTH_DISABLED=true, demo): anyone here acts as an operator; admin ${configs.api.ADMIN_USERNAME}${configs.api.AUTH_DEMO_ADMIN && !configs.api.ADMIN_PASSWORD ? `, password in ${demoAdminPath(configs.api.DATA_DIR)}` : ''}`
          : `  Sign-in     required (POST /api/v1/auth/login); first admin ${configs.api.ADMIN_USERNAME}${configs.api.AUTH_DEMO_ADMIN && !configs.api.ADMIN_PASSWORD ? `, password in ${demoAdminPath(configs.api.DATA_DIR)}` : ''}`,
        'Ctrl+C stops everything.',
        '',
      ].join('\n')
    },
    async stop() {
      for (const stop of stops.splice(0)) await stop().catch((err: unknown) => logger.error('stop failed', { err }))
    },
  }
}

await runMain('platform', logger, platform, (banner) => process.stdout.write(banner))
