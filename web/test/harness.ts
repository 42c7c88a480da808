import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { MqttClient } from 'mqtt'
import { chromium, type Browser, type Page } from 'playwright-core'
import { build } from 'vite'
import { createApi, type ApiOptions } from '@mytho/api'
import { createBroker, loadBrokerConfig } from '@mytho/broker'
import { openOperatorStore, openProvisionedRegistryFromConfig } from '@mytho/directory'
import { createIngest, loadIngestConfig } from '@mytho/ingest'
import { DeviceRegistry, loadRegistryFile, parseRegistry, type DeviceRecord, type PipelineHealth, type Role } from '@mytho/schema'
import { readDemoSecrets, silentLogger } from '@mytho/runtime'
import { createSqliteStore } from '@mytho/storage'
import { connectDevice, makeTempDir, publishReading } from '@mytho/testing'

const WEB_DIR = fileURLToPath(new URL('..', import.meta.url))
/** A tile server nobody listens on: the map must still draw devices and the ward names (and the browser reaches only 127.0.0.1). */
export const DEAD_TILES = 'http://127.0.0.1:9/{z}/{x}/{y}.png'

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]
export const launchChromium = (): Promise<Browser> =>
  chromium.launch({ executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium', args: CHROMIUM_ARGS })

/**
 * Builds the map from source into outDir (each test file its own, so parallel files do not race on web/dist). Mode
 * `test` (vite.config.ts): with the page's test hook, window.__mytho, which the tests and the bench read; `production`
 * is the bundle `npm run build:web` makes, without it.
 */
export async function buildWeb(outDir: string, mode: 'test' | 'production' = 'test'): Promise<string> {
  await build({ root: WEB_DIR, configFile: join(WEB_DIR, 'vite.config.ts'), mode, logLevel: 'silent', build: { outDir, emptyOutDir: true } })
  return outDir
}

export interface PlatformOptions {
  /** Change the seed fleet before it is written as this platform's registry file. */
  editRegistry?: (devices: DeviceRecord[]) => DeviceRecord[]
  /** Start the device simulator with these settings (screenshot script). */
  afterStart?: (p: { mqttUrl: string; registry: DeviceRegistry; dataDir: string; registryFile: string }) => Promise<() => Promise<void>>
  /** Sign-in on, as production runs the API (an operator store, AUTH_DISABLED unset), with these operators. Default: off (anonymous operators). */
  operators?: { username: string; password: string; role: Role }[]
  /** More ingest settings (e.g. INGEST_HEALTH_INTERVAL_MS), as env strings. */
  ingestEnv?: Record<string, string>
  /** More API settings (e.g. LOGIN_MAX_FAILURES). */
  apiConfig?: Partial<ApiOptions>
  /**
   * One registry for broker, ingest and API that follows the device directory, as npm start wires it (issue #18): a
   * device provisioned through the API reaches the map and the ingest without a restart. Default: the file's fleet.
   */
  liveRegistry?: boolean
}

/** The whole platform as `npm start` wires it (broker on port 0, ingest, SQLite, API with live push) serving a fresh build of the map. */
export async function startPlatform(o: PlatformOptions = {}) {
  const tmp = makeTempDir('mytho-web-')
  const cleanups: (() => Promise<void> | void)[] = [() => tmp.cleanup()]
  const stop = async () => {
    for (const c of cleanups.splice(0)) await c()
  }
  try {
    const seed = [...loadRegistryFile().devices]
    const devices = o.editRegistry ? o.editRegistry(seed) : seed
    const registryFile = join(tmp.path, 'registry.json')
    writeFileSync(registryFile, JSON.stringify(devices))
    const fromFile = new DeviceRegistry(parseRegistry(devices, registryFile))
    const webRoot = await buildWeb(join(tmp.path, 'web-dist'))
    mkdirSync(join(tmp.path, 'data'), { recursive: true })
    const dataDir = join(tmp.path, 'data')
    const provisioned = o.liveRegistry ? await openProvisionedRegistryFromConfig({ DATA_DIR: dataDir }, fromFile) : undefined
    if (provisioned) cleanups.unshift(() => provisioned.close())
    const registry = provisioned?.registry ?? fromFile

    const broker = await createBroker(
      loadBrokerConfig({ DATA_DIR: dataDir, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_WS_PORT: 'off', DEVICE_REGISTRY_FILE: registryFile }),
      { registry, logger: silentLogger },
    )
    const { mqttPort } = await broker.start()
    cleanups.unshift(() => broker.stop())
    const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`
    const secrets = readDemoSecrets(dataDir)
    if (!secrets) throw new Error('broker did not write demo secrets')

    const store = createSqliteStore({ path: join(dataDir, 'readings.sqlite') })
    cleanups.unshift(() => store.close())
    const ingest = createIngest(
      loadIngestConfig({ ...o.ingestEnv, MQTT_URL: mqttUrl, DATA_DIR: dataDir, INGEST_BATCH_WAIT_MS: '10', DEVICE_REGISTRY_FILE: registryFile }),
      { store, registry, ...(provisioned ? { resyncRegistry: provisioned.resync } : {}), logger: silentLogger },
    )
    await ingest.start()
    cleanups.unshift(() => ingest.stop())

    const operators = o.operators && openOperatorStore(dataDir)
    if (operators) {
      cleanups.unshift(() => operators.close())
      for (const u of o.operators!) await operators.create(u.username, u.password, u.role, Date.now())
    }
    const newApi = (port: number) =>
      createApi(
        { ...o.apiConfig, HTTP_PORT: port, HTTP_HOST: '127.0.0.1', MQTT_URL: mqttUrl, DATA_DIR: dataDir },
        {
          store,
          registry,
          logger: silentLogger,
          webRoot,
          ...(operators ? { operators } : {}),
          ...(provisioned ? { resyncRegistry: provisioned.resync } : {}),
        },
      )
    let api = newApi(0)
    const { port } = await api.start()
    cleanups.unshift(() => api.stop())
    const url = `http://127.0.0.1:${port}`
    if (o.afterStart) cleanups.unshift(await o.afterStart({ mqttUrl, registry, dataDir, registryFile }))

    return {
      url,
      mqttUrl,
      /** Holds the demo secrets (devices and the svc-* service accounts). */
      dataDir,
      registry,
      /** The map URL with the dead tile server and an optional hash (deep link). */
      mapUrl: (hash = '') => `${url}/?tiles=${encodeURIComponent(DEAD_TILES)}${hash}`,
      async device(deviceId: string): Promise<MqttClient> {
        const c = await connectDevice(mqttUrl, deviceId, secrets.devices[deviceId]!)
        cleanups.unshift(() => c.endAsync(true))
        return c
      },
      publish: (c: MqttClient, deviceId: string, body: unknown) => publishReading(c, deviceId, body),
      /** Stops the API (browsers lose their link) and returns a function that starts a new one on the same port. */
      async stopApi(): Promise<() => Promise<void>> {
        await api.stop()
        return async () => {
          api = newApi(port)
          await api.start()
        }
      },
      stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}
export type Platform = Awaited<ReturnType<typeof startPlatform>>

export interface MapStats {
  devices: number
  live: boolean
  link: string
  byStatus: Record<string, number>
  indexed: number
  drawnPoints: number
  drawnClusters: number
  clusteredDevices: number
}
export const mapStats = (page: Page): Promise<MapStats> => page.evaluate(() => (window as unknown as { __mytho: { stats(): MapStats } }).__mytho.stats())

/**
 * Waits until the page is live and its own cluster index holds `devices` devices. The first frame can be drawn from
 * the server's clusters with the page's index still empty (issue #4), so `live` alone does not mean indexed.
 */
export async function waitForIndexed(page: Page, devices: number, timeout = 15_000): Promise<MapStats> {
  await page.waitForFunction(
    (n) => {
      const s = (window as unknown as { __mytho?: { stats(): MapStats } }).__mytho?.stats()
      return s?.live === true && s.indexed === n
    },
    devices,
    { timeout },
  )
  return mapStats(page)
}

/** Fails the test on any page error or console error (a test fails on unexpected console output); `expected` matches text + URL of the errors a test provokes. */
export function watchPage(page: Page, expected?: RegExp): string[] {
  const problems: string[] = []
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`))
  page.on('console', (m) => {
    const where = m.text() + (m.location().url ?? '')
    if (m.type() === 'error' && !/127\.0\.0\.1:9\/|ERR_CONNECTION_REFUSED/.test(where) && !expected?.test(where)) problems.push(`console: ${m.text()}`)
  })
  return problems
}

/** Opens the map at `mapUrl` and signs in on its sign-in page, as an operator does (the page's own form). */
export async function signInOnMap(page: Page, mapUrl: string, username: string, password: string): Promise<void> {
  await page.goto(mapUrl)
  await page.locator('#sign-in').waitFor({ state: 'visible' })
  await page.locator('#sign-in-username').fill(username)
  await page.locator('#sign-in-password').fill(password)
  await page.locator('#sign-in-submit').click()
}

/**
 * A pipeline-health message as the ingest publishes it on PLATFORM_HEALTH_TOPIC (tests publish it as svc-ingest):
 * storage down unless `ok`, `depth` readings spooled, the oldest `oldestAgeMs` old, the spool full when `blocked`.
 */
export function pipelineHealth(status: PipelineHealth['status'], depth = 0, oldestAgeMs: number | null = null): PipelineHealth {
  const now = Date.now()
  return {
    service: 'ingest',
    clientId: 'mytho-ingest-test',
    status,
    at: now,
    since: now,
    storage: { up: status === 'ok', writeErrors: status === 'ok' ? 0 : 3 },
    spool: { depth, capacity: 2_000_000, oldestReceivedAt: oldestAgeMs === null ? null : now - oldestAgeMs, oldestAgeMs, full: status === 'blocked' },
    mqtt: { connected: true, received: 100, acked: 100, redelivered: 0, inflight: 0 },
    stored: 90,
  }
}
