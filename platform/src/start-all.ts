/*
 * npm start — the whole platform in one process on the embedded default (SQLite in DATA_DIR):
 * broker with the ingest inside it (embedded.ts: a device's QoS 1 reading is acknowledged once stored, the fastest
 * topology measured, BENCHMARKS.md), API + map and the device simulator, each configured from the same environment
 * variables it reads when started alone. MYTHO_TOPOLOGY=separate runs the ingest as the broker's MQTT client instead,
 * as a cluster runs it, for working on that path. Prints where to look.
 */
// First: the libraries' debug loggers are made when they load (packages/runtime/src/debug-off.ts says why).
import '@mytho/runtime/debug-off'
import { join } from 'node:path'
import { z } from 'zod'
import { createApi, demoAdminPath, loadApiConfig } from '@mytho/api'
import { createBroker, loadBrokerConfig } from '@mytho/broker'
import { backfillRecent, createSimulator, loadSimConfig } from '@mytho/devices-sim'
import { openOperatorStore, openProvisionedRegistryFromConfig } from '@mytho/directory'
import { createIngest, loadIngestConfig } from '@mytho/ingest'
import { loadRegistryFile, type DeviceRegistry } from '@mytho/schema'
import {
  bindHost,
  colourOn,
  configOrExit,
  createLogger,
  demoBrokerWarning,
  demoSecretsPath,
  env,
  isLoopback,
  LOOPBACK,
  networkUrls,
  parseEnv,
  runMain,
  signInOffWarning,
  urlHost,
  warningBlock,
  type Service,
} from '@mytho/runtime'
import { createStoreFromConfig, SQLITE_FILE } from '@mytho/storage'
import { createEmbeddedPipeline, loadEmbeddedConfig } from './embedded.ts'

const startEnv = z.object({
  /** Run the device simulator with the platform. Default true. */
  START_SIMULATOR: env.bool(true),
  /**
   * `embedded` (default): the ingest runs inside the broker and a device's reading is acknowledged once stored;
   * `separate`: the ingest is a persistent MQTT client of the broker, as in a cluster (REDIS_URL, INGEST_PARTITIONS).
   */
  MYTHO_TOPOLOGY: z.enum(['embedded', 'separate'], { message: 'expected embedded or separate' }).default('embedded'),
})

const DEMO = process.env['NODE_ENV'] !== 'production'
const configs = configOrExit('start', () => {
  // The one-command demo: until the map has its sign-in page, anonymous visitors act as operators
  // (AUTH_DISABLED) and an admin with a generated password is made for the admin routes. Neither in
  // NODE_ENV=production, and either can be set explicitly.
  const api = loadApiConfig({ ...(DEMO ? { AUTH_DISABLED: 'true', AUTH_DEMO_ADMIN: 'true' } : {}), ...process.env })
  const start = parseEnv(startEnv)
  const pipeline =
    start.MYTHO_TOPOLOGY === 'separate'
      ? { broker: loadBrokerConfig(), ingest: loadIngestConfig() }
      : loadEmbeddedConfig(process.env, {
          variable: 'MYTHO_TOPOLOGY',
          hint: 'set separate to run the ingest apart from the broker, as a cluster does',
        })
  const { broker } = pipeline
  // Without sign-in the demo is this machine's (issue #15): HTTP and MQTT (TCP, WebSocket) on 127.0.0.1 unless
  // HTTP_HOST / MQTT_HOST are set; set to another address, the banner warns.
  const local = (name: string, parsed: string) => bindHost(process.env, name, parsed, api.AUTH_DISABLED)
  return {
    start,
    broker: { ...broker, MQTT_HOST: local('MQTT_HOST', broker.MQTT_HOST) },
    ingest: pipeline.ingest,
    api: { ...api, HTTP_HOST: local('HTTP_HOST', api.HTTP_HOST) },
    sim: loadSimConfig(),
  }
})
const logger = createLogger(configs.broker.LOG_LEVEL, { service: 'platform' })

function platform(): Service<string> {
  // The simulator plays the file's fleet (it has their demo secrets); the services know every provisioned device.
  const fleet = loadRegistryFile(configs.broker.DEVICE_REGISTRY_FILE)
  const store = createStoreFromConfig(configs.api)
  const stops: (() => Promise<void>)[] = []

  /** Broker and ingest in one (embedded.ts): the broker keeps no queue for the ingest; PUBACK once stored. */
  const startEmbedded = async (registry: DeviceRegistry, resyncRegistry: () => Promise<void>) => {
    const pipeline = await createEmbeddedPipeline(
      { broker: configs.broker, ingest: configs.ingest },
      { store, registry, brokerRegistry: registry, resyncRegistry, logger },
    )
    stops.unshift(() => pipeline.stop())
    return pipeline.start()
  }

  /** The cluster's topology on one machine: the ingest subscribes over MQTT with a persistent QoS 1 session. */
  const startSeparate = async (registry: DeviceRegistry, resyncRegistry: () => Promise<void>) => {
    const broker = await createBroker(configs.broker, { registry, logger: logger.child({ part: 'broker' }) })
    stops.unshift(() => broker.stop())
    const addresses = await broker.start()
    const ingest = createIngest(
      { ...configs.ingest, MQTT_URL: `mqtt://127.0.0.1:${addresses.mqttPort}` },
      { store, registry, resyncRegistry, logger: logger.child({ part: 'ingest' }) },
    )
    stops.unshift(() => ingest.stop())
    await ingest.start()
    return addresses
  }

  return {
    async start() {
      // One registry for all three, following the store (registry-follow.ts): the API's own changes re-read it at once.
      const provisioned = await openProvisionedRegistryFromConfig({ DATA_DIR: configs.broker.DATA_DIR }, fleet, { logger: logger.child({ part: 'directory' }) })
      stops.push(() => provisioned.close())
      const { registry } = provisioned
      const embedded = configs.start.MYTHO_TOPOLOGY === 'embedded'
      const { mqttPort, wsPort } = embedded ? await startEmbedded(registry, provisioned.resync) : await startSeparate(registry, provisioned.resync)
      const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`

      const operators = openOperatorStore(configs.api.DATA_DIR)
      stops.unshift(async () => operators.close())
      // The admin page's ready mosquitto_pub line names the broker as bound here (port 0 gives a free one).
      const mqttPublicUrl = configs.api.MQTT_PUBLIC_URL ?? `mqtt://${urlHost(configs.broker.MQTT_HOST)}:${mqttPort}`
      const api = createApi(
        { ...configs.api, MQTT_URL: mqttUrl, MQTT_PUBLIC_URL: mqttPublicUrl },
        { store, registry, resyncRegistry: provisioned.resync, logger: logger.child({ part: 'api' }), operators },
      )
      stops.unshift(() => api.stop())
      const { port: httpPort } = await api.start()

      let simLine = 'off (START_SIMULATOR=false)'
      if (configs.start.START_SIMULATOR) {
        // Charts have history on first start; the same readings at the same keys, so a rerun stores nothing twice.
        await backfillRecent({ ...configs.sim, MQTT_URL: mqttUrl }, { registry: fleet, logger: logger.child({ part: 'backfill' }) })
        const sim = createSimulator({ ...configs.sim, MQTT_URL: mqttUrl }, { registry: fleet, logger: logger.child({ part: 'devices-sim' }) })
        // Stopped first, while the ingest still listens: each device's planned goodbye (`offline:planned`) is heard as
        // such, so a clean stop raises no incident (issue #17); broker last, so no device is cut off to fire its Will.
        stops.unshift(() => sim.stop())
        const { devices } = await sim.start()
        simLine = `${devices} devices of the seed fleet publishing (SIM_SPEED=${configs.sim.SIM_SPEED})`
      }
      stops.push(() => store.close())
      const ingestLine = embedded
        ? 'inside the broker: a device reading is acknowledged once stored (MYTHO_TOPOLOGY=embedded)'
        : 'separate MQTT client of the broker, as in a cluster (MYTHO_TOPOLOGY=separate)'

      const storage = configs.api.INFLUX_URL
        ? `InfluxDB ${configs.api.INFLUX_URL} db ${configs.api.INFLUX_DB}`
        : `SQLite ${join(configs.api.DATA_DIR, SQLITE_FILE)}`
      // The addresses as bound (port 0 gives a free one), on the host each listens on.
      const { HTTP_HOST: httpHost, AUTH_DISABLED: authOff } = configs.api
      const mqttHost = configs.broker.MQTT_HOST
      const scheme = configs.api.HTTPS_CERT && configs.api.HTTPS_KEY ? 'https' : 'http'
      const web = (h: string) => `${scheme}://${h}:${httpPort}/`
      const warnings: string[] = []
      if (authOff && !isLoopback(httpHost)) {
        const urls = networkUrls(httpHost, web)
        warnings.push(...signInOffWarning(urls, 'HTTP_HOST'))
        logger.warn('sign-in is disabled (AUTH_DISABLED=true) and the map is reachable from the network: HTTP_HOST is not loopback', { host: httpHost, urls })
      }
      if (authOff && !isLoopback(mqttHost)) {
        const urls = [
          ...networkUrls(mqttHost, (h) => `mqtt://${h}:${mqttPort}`),
          ...(wsPort !== undefined ? networkUrls(mqttHost, (h) => `ws://${h}:${wsPort}/mqtt`) : []),
        ]
        warnings.push(...demoBrokerWarning(urls, 'MQTT_HOST'))
        logger.warn('the demo broker is reachable from the network: MQTT_HOST is not loopback', { host: mqttHost, urls })
      }
      return [
        '',
        'Mỹ Tho telemetry platform is running',
        `  MQTT        mqtt://${urlHost(mqttHost)}:${mqttPort}${wsPort !== undefined ? `   (WebSocket ws://${urlHost(mqttHost)}:${wsPort}/mqtt)` : ''}`,
        `  Map + API   ${web(urlHost(httpHost))}   (API ${web(urlHost(httpHost))}api/v1/devices)`,
        `  Simulator   ${simLine}`,
        `  Ingest      ${ingestLine}`,
        `  Storage     ${storage}`,
        `  Secrets     ${demoSecretsPath(configs.broker.DATA_DIR)} (demo device passwords, never commit)`,
        authOff
          ? `  Sign-in     DISABLED (AUTH_DISABLED=true, demo): anyone who reaches the map acts as an operator, recorded as anonymous with their address; admin ${configs.api.ADMIN_USERNAME}${configs.api.AUTH_DEMO_ADMIN && !configs.api.ADMIN_PASSWORD ? `, password in ${demoAdminPath(configs.api.DATA_DIR)}` : ''}`
          : `  Sign-in     required (POST /api/v1/auth/login); first admin ${configs.api.ADMIN_USERNAME}${configs.api.AUTH_DEMO_ADMIN && !configs.api.ADMIN_PASSWORD ? `, password in ${demoAdminPath(configs.api.DATA_DIR)}` : ''}`,
        ...(authOff && warnings.length === 0 ? [`  Network     ${LOOPBACK} only (this machine); HTTP_HOST / MQTT_HOST open it to the network`] : []),
        ...(warnings.length > 0 ? [warningBlock(warnings, colourOn(process.stdout))] : []),
        'Ctrl+C stops everything.',
        '',
      ].join('\n')
    },
    async stop() {
      for (const stop of stops.splice(0)) await stop().catch((err: unknown) => logger.error('stop failed', { err }))
    },
  }
}

await runMain('platform', logger, platform, (banner) => process.stdout.write(banner), { dataDir: configs.broker.DATA_DIR })
