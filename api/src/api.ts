import { constants as fsConstants, readFileSync } from 'node:fs'
import { access, mkdir } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { DeviceRegistry, IncidentChange } from '@mytho/schema'
import { ConfigError, once, servicePassword, type Logger } from '@mytho/runtime'
import type { ReadingStore } from '@mytho/storage'
import { alarmLinesFor, configuredAlertRules, createDeviceJudge } from '@mytho/alerts'
import { openAgencyKeysFromConfig, REGISTRY_NOTICE_TOPIC, type AgencyKeyStore, type OperatorStore } from '@mytho/directory'
import { ensureFirstAdmin } from './auth/first-admin.ts'
import { atLeast } from './auth/roles.ts'
import { callerFrom } from './auth/session.ts'
import { sameOriginOrListed } from './auth/cors.ts'
import { signInFromConfig } from './auth/sign-in-from-config.ts'
import { createSignInStats } from './auth/sign-in-stats.ts'
import { DEFAULT_MAP_TILE_ATTRIBUTION, DEFAULT_MAP_TILE_URL, type ApiConfig } from './config.ts'
import { createHttpApp, DEFAULT_WEB_ROOT } from './http-app.ts'
import { openIncidents, type OpenIncidents } from './incident-store.ts'
import { createOpenDataJob, type OpenDataJob } from './open-data-job.ts'
import { createNgsiNotifier, type NgsiNotifier } from './sharing/ngsi-notifier.ts'
import { openBasemap } from './basemap.ts'
import { loadOverlays } from './overlays.ts'
import { createLiveFeed, type LiveFeed } from './live-feed.ts'
import { createLivePush, type LivePush } from './live-push.ts'
import { joinLiveCluster, type LiveCluster } from './live-cluster.ts'
import { createLiveState } from './live-state.ts'
import { createRedriveClient } from './redrive-client.ts'
import { openProvisioning, type Provisioning } from './provisioning.ts'
import type { RequestTiming } from './request-timing.ts'

export { DEFAULT_WEB_ROOT, MAP_NOT_BUILT } from './http-app.ts'

export interface ApiDeps {
  store: ReadingStore
  registry: DeviceRegistry
  logger: Logger
  clock?: () => number
  /** Folder of the built map; default web/dist (`npm run build:web`). */
  webRoot?: string
  /**
   * Operators, sessions and audit (openOperatorStoreFromConfig: DATA_DIR/meta.sqlite, or Redis on a
   * cluster); left open at stop. With it, every route
   * and socket needs a signed-in role unless AUTH_DISABLED. Without it (tests and embedders that predate
   * sign-in) every caller is an anonymous operator and nobody is admin. The entry points always pass it.
   */
  operators?: OperatorStore
  /**
   * Re-reads the device directory into `registry` (openProvisionedRegistryFromConfig's resync): called after this
   * node's own provisioning change, on every registry notice from another node and after each feed reconnect, so
   * the map has a new, moved, disabled or enabled device at once. Without it the registry stays as it was given.
   */
  resyncRegistry?: () => Promise<void>
}

/** Without MQTT_URL the API serves REST from storage and memory but has no live feed (REST-only tests). */
export type ApiOptions = Pick<ApiConfig, 'HTTP_PORT' | 'HTTP_HOST'> &
  Partial<
    Pick<
      ApiConfig,
      | 'MQTT_URL'
      | 'API_MQTT_USERNAME'
      | 'API_MQTT_PASSWORD'
      | 'DATA_DIR'
      | 'LIVE_FLUSH_MS'
      | 'LIVE_STATUS_CHECK_MS'
      | 'REDRIVE_TIMEOUT_MS'
      | 'MAP_TILE_URL'
      | 'MAP_TILE_ATTRIBUTION'
      | 'MAP_BASEMAP_FILE'
      | 'MAP_BASEMAP_ATTRIBUTION'
      | 'MAP_OVERLAYS_DIR'
      | 'MQTT_PUBLIC_URL'
      | 'MQTT_PUBLIC_CA'
      | 'REDIS_URL'
      | 'ALERT_RULES_FILE'
      | 'OPEN_DATA_DIR'
    >
  > &
  Partial<
    Pick<
      ApiConfig,
      | 'AUTH_DISABLED'
      | 'ADMIN_USERNAME'
      | 'ADMIN_PASSWORD'
      | 'AUTH_DEMO_ADMIN'
      | 'SESSION_TTL_H'
      | 'LOGIN_MAX_FAILURES'
      | 'LOGIN_LOCKOUT_S'
      | 'API_RATE_LIMIT_PER_MIN'
      | 'TILE_RATE_LIMIT_PER_MIN'
      | 'CORS_ORIGINS'
      | 'HTTPS_CERT'
      | 'HTTPS_KEY'
      | 'BEHIND_PROXY'
      | 'IMPORT_MAX_BYTES'
    >
  >

export function createApi(config: ApiOptions, deps: ApiDeps) {
  const clock = deps.clock ?? Date.now
  const log = deps.logger
  const startedAt = clock()
  const https = config.HTTPS_CERT !== undefined && config.HTTPS_KEY !== undefined
  const corsOrigins = config.CORS_ORIGINS ?? []
  // The engine's rule set judges the markers too (a bad file stops the start, naming the rule and field, as in the ingest).
  const rules = configuredAlertRules(config.ALERT_RULES_FILE)
  const judge = createDeviceJudge(rules)
  const state = createLiveState({ registry: deps.registry, store: deps.store, clock, judge })
  // The city's geography files, like the rules: a bad file stops the start naming the file and the feature.
  const overlays = loadOverlays(config.MAP_OVERLAYS_DIR, log.child({ part: 'overlays' }))
  const basemap = openBasemap(config.MAP_BASEMAP_FILE, config.MAP_BASEMAP_ATTRIBUTION)

  // What start() opens, in this order (each needs I/O; the live push needs the server); stop() closes what is there.
  const opened: {
    incidents?: OpenIncidents | undefined
    provisioning?: Provisioning | undefined
    /** Agency keys and NGSI-LD subscriptions (issue #22), with DATA_DIR (meta.sqlite, or Redis with REDIS_URL). */
    agencyKeys?: AgencyKeyStore | undefined
    ngsi?: NgsiNotifier | undefined
    /** The daily open-data files, with OPEN_DATA_DIR. */
    openData?: OpenDataJob | undefined
    server?: Server
    push?: LivePush
    /** With REDIS_URL: what this node alone knows (acknowledgements, ended sessions) reaches every node's browsers. */
    cluster?: LiveCluster
  } = {}
  const announceHere = (change: IncidentChange) => {
    opened.incidents?.apply(change)
    opened.push?.announceIncident(change)
  }
  const announceEverywhere = (change: IncidentChange) => {
    if (!opened.cluster) return announceHere(change)
    opened.incidents?.apply(change)
    return opened.cluster.announceIncident(change)
  }
  const sessionsEnded = () => void (opened.cluster ? opened.cluster.recheck() : opened.push?.recheck())
  /**
   * What metrics.ts observes as it happens (its histograms), registered before start; here rather than on the
   * parts because the live push is made only at start. Empty (nothing timed) without METRICS_PORT.
   */
  const observers = { pushLatency: [] as ((seconds: number) => void)[], request: [] as ((t: RequestTiming) => void)[] }
  const signIns = createSignInStats()

  // QoS 0 may have dropped readings while the link was down: after every (re)connect, catch up from storage.
  let resyncing: Promise<void> | undefined
  const rehydrate = () => {
    resyncing ??= state
      .hydrate()
      .catch((err: unknown) => log.warn('re-reading device state from storage failed', { err }))
      .finally(() => (resyncing = undefined))
  }
  let feedSince = clock()
  // The ingest re-drives dead letters (this API's storage access reads only): asked over the feed's link.
  const redrive = createRedriveClient({
    publish: async (topic, payload) => (await feed?.publish(topic, payload, 0)) ?? false,
    clock,
    timeoutMs: config.REDRIVE_TIMEOUT_MS ?? 15_000,
  })
  const feed: LiveFeed | undefined =
    config.MQTT_URL === undefined
      ? undefined
      : createLiveFeed(
          {
            url: config.MQTT_URL,
            username: config.API_MQTT_USERNAME ?? 'svc-api',
            password: () => (config.DATA_DIR !== undefined ? servicePassword(config.DATA_DIR, 'api', config.API_MQTT_PASSWORD) : config.API_MQTT_PASSWORD),
          },
          {
            logger: log.child({ part: 'live-feed' }),
            onReadings: (readings) => {
              state.applyReadings(readings)
              opened.push?.noteLiveReadings(readings)
              opened.ngsi?.onReadings(readings)
            },
            onConnection: (id, status) => state.applyConnection(id, status),
            onIncident: (change) => {
              announceHere(change)
              opened.ngsi?.onIncident(change)
            },
            onConnect: () => {
              rehydrate()
              // A notice sent while this node was away is gone: re-read, as the timer would a little later.
              void deps.resyncRegistry?.()
            },
            onPipeline: (health) => opened.push?.announcePipeline(health),
            ...(deps.resyncRegistry ? { onRegistryNotice: () => void deps.resyncRegistry!() } : {}),
            onRedriveAnswer: redrive.onAnswer,
            onLink: (connected) => {
              feedSince = clock()
              if (!connected) log.warn('live feed disconnected; reconnecting')
              opened.push?.announceFeed({ connected, since: feedSince })
            },
          },
        )

  const { auth, limits, audit } = signInFromConfig(config, { operators: deps.operators, https, logger: log })

  const { app, v1 } = createHttpApp(
    {
      https,
      behindProxy: config.BEHIND_PROXY ?? false,
      corsOrigins,
      tileUrl: config.MAP_TILE_URL ?? DEFAULT_MAP_TILE_URL,
      tileAttribution: config.MAP_TILE_ATTRIBUTION ?? DEFAULT_MAP_TILE_ATTRIBUTION,
      ...(config.MQTT_PUBLIC_URL !== undefined ? { mqttPublicUrl: config.MQTT_PUBLIC_URL } : {}),
      ...(config.MQTT_PUBLIC_CA !== undefined ? { mqttPublicCa: config.MQTT_PUBLIC_CA } : {}),
      importMaxBytes: config.IMPORT_MAX_BYTES ?? 5_000_000,
      webRoot: deps.webRoot ?? DEFAULT_WEB_ROOT,
      overlays,
      basemap,
      ...(config.OPEN_DATA_DIR !== undefined ? { openDataDir: config.OPEN_DATA_DIR } : {}),
    },
    {
      store: deps.store,
      registry: deps.registry,
      state,
      feed,
      auth,
      rateLimit: limits.rateLimit,
      rateFor: limits.rateFor,
      agencyKeyFailures: limits.agencyKeyFailures,
      tileRateLimit: limits.rateFor(config.TILE_RATE_LIMIT_PER_MIN ?? 0),
      agencyKeys: () => opened.agencyKeys,
      ngsiNotifier: () => opened.ngsi,
      audit,
      incidents: () => opened.incidents?.store,
      provisioning: () => opened.provisioning,
      redrive: redrive.redrive,
      announceIncident: announceEverywhere,
      sessionsEnded,
      uptimeS: () => Math.round((clock() - startedAt) / 1000),
      alarmLines: (device) => alarmLinesFor(rules, device),
      rules,
      judge,
      clock,
      logger: log,
      onRequest: (t) => {
        for (const o of observers.request) o(t)
      },
      signIns,
    },
  )

  let statusTimer: NodeJS.Timeout | undefined
  return {
    app,
    /** The versioned router, for the OpenAPI coverage test. */
    v1,
    state,
    observers,
    signIns,
    get feed() {
      return feed
    },
    get push() {
      return opened.push
    },
    get provisioning() {
      return opened.provisioning
    },
    /** The open-data job (OPEN_DATA_DIR), once started: tests call its check() after moving the clock. */
    get openData() {
      return opened.openData
    },
    async start(): Promise<{ port: number }> {
      const openDataDir = config.OPEN_DATA_DIR
      if (openDataDir !== undefined)
        // Before anything opens: a folder the job cannot write would only show up in the log after midnight.
        await mkdir(openDataDir, { recursive: true })
          .then(() => access(openDataDir, fsConstants.W_OK))
          .catch((err: unknown) => {
            throw new ConfigError(`invalid environment:\n  OPEN_DATA_DIR: cannot write ${openDataDir}: ${(err as Error).message}`, { cause: err })
          })
      await deps.store.init()
      await state.hydrate()
      // The ingest's alert engine writes incidents (alerts.sqlite, or Redis with REDIS_URL); the API reads them and acknowledges.
      opened.incidents = await openIncidents(config, log.child({ part: 'incidents' }))
      if (config.DATA_DIR !== undefined)
        opened.provisioning = await openProvisioning({ DATA_DIR: config.DATA_DIR, REDIS_URL: config.REDIS_URL }, deps.registry, {
          logger: log.child({ part: 'provisioning' }),
          audit,
          notify: async (n) => {
            // This node's map first, so the admin's next GET already has the change; then the others and the broker.
            await deps.resyncRegistry?.()
            return (await feed?.publish(REGISTRY_NOTICE_TOPIC, JSON.stringify(n))) ?? false
          },
        })
      if (config.DATA_DIR !== undefined) {
        const agencyKeys = openAgencyKeysFromConfig({ DATA_DIR: config.DATA_DIR, REDIS_URL: config.REDIS_URL }, { logger: log.child({ part: 'agency-keys' }) })
        opened.agencyKeys = agencyKeys
        opened.ngsi = createNgsiNotifier({ keys: () => agencyKeys, registry: deps.registry, logger: log.child({ part: 'ngsi-ld' }), clock })
        await opened.ngsi.reload()
      }
      if (auth && config.DATA_DIR !== undefined)
        await ensureFirstAdmin(
          auth.operators,
          { dataDir: config.DATA_DIR, username: config.ADMIN_USERNAME ?? 'admin', password: config.ADMIN_PASSWORD, demo: config.AUTH_DEMO_ADMIN ?? false },
          log,
          clock(),
        )
      if (auth && config.AUTH_DISABLED) log.warn('AUTH_DISABLED=true: anyone who reaches this API acts as an operator (development only)')
      if (!auth) log.debug('no operator store: every caller is an anonymous operator')
      const server = https
        ? (createHttpsServer({ cert: readFileSync(config.HTTPS_CERT!), key: readFileSync(config.HTTPS_KEY!) }, app) as unknown as Server)
        : createServer(app)
      opened.server = server
      const push = createLivePush(server, config.LIVE_FLUSH_MS !== undefined ? { flushMs: config.LIVE_FLUSH_MS } : {}, {
        state,
        logger: log.child({ part: 'live-push' }),
        feedStatus: () => ({ connected: feed?.connected ?? false, since: feedSince }),
        activeIncidents: () => opened.incidents?.active() ?? [],
        pipeline: () => feed?.pipeline,
        onPushLatency: (seconds) => {
          for (const o of observers.pushLatency) o(seconds)
        },
        admit: async (req) => {
          if (!sameOriginOrListed(req, corsOrigins)) return 'forbidden origin'
          const caller = await callerFrom(req, auth, clock())
          if (caller.role === undefined) return 'sign-in required'
          return atLeast(caller.role, 'viewer') ? undefined : 'forbidden'
        },
      })
      opened.push = push
      if (config.REDIS_URL !== undefined) opened.cluster = await joinLiveCluster(push, config.REDIS_URL, { logger: log.child({ part: 'live-cluster' }) })
      statusTimer = setInterval(() => state.refresh(), config.LIVE_STATUS_CHECK_MS ?? 1000)
      statusTimer.unref()
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(config.HTTP_PORT, config.HTTP_HOST, () => resolve())
      })
      // Waits for the broker: until the feed is subscribed the map would show storage's state as if it were live.
      await feed?.start()
      if (openDataDir !== undefined) {
        opened.openData = createOpenDataJob({
          dir: openDataDir,
          store: deps.store,
          devices: () => deps.registry.devices,
          clock,
          logger: log.child({ part: 'open-data' }),
        })
        opened.openData.start()
      }
      return { port: (server.address() as AddressInfo).port }
    },
    stop: once(async () => {
      clearInterval(statusTimer)
      // First: a day being written reads the store, closed below.
      await opened.openData?.stop()
      await feed?.stop()
      state.close()
      await opened.push?.stop()
      await opened.cluster?.close()
      await resyncing
      await opened.incidents?.close()
      await opened.provisioning?.close()
      opened.ngsi?.stop()
      await opened.agencyKeys?.close()
      await limits.close()
      const s = opened.server
      if (s) {
        s.closeAllConnections()
        await new Promise<void>((resolve) => s.close(() => resolve()))
      }
      basemap?.close()
    }),
  }
}
export type Api = ReturnType<typeof createApi>
