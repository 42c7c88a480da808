import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import express from 'express'
import helmet from 'helmet'
import type { DeviceRegistry, IncidentChange } from '@mytho/schema'
import { once, servicePassword, type Logger } from '@mytho/runtime'
import type { ReadingStore } from '@mytho/storage'
import { ensureFirstAdmin } from './auth/first-admin.ts'
import { REGISTRY_NOTICE_TOPIC, type AuditInput, type OperatorStore } from '@mytho/directory'
import { atLeast } from './auth/roles.ts'
import { callerFrom, clientIp, identify, requireRole, type AuthContext } from './auth/session.ts'
import { corsPolicy, sameOriginOrListed } from './auth/cors.ts'
import { openLimitsFromConfig } from './auth/throttle-from-config.ts'
import { apiEnv, type ApiConfig } from './config.ts'
import { openProvisioning, type Provisioning } from './provisioning.ts'
import { adminDevicesRouter } from './routes/admin-devices.ts'
import { authRouter } from './routes/auth.ts'
import { operatorsRouter } from './routes/operators.ts'
import { errorHandler, HttpError, notFound } from './http-errors.ts'
import { requestId } from './request-id.ts'
import { createLiveFeed, type LiveFeed } from './live-feed.ts'
import { createLivePush, type LivePush } from './live-push.ts'
import { joinLiveCluster, type LiveCluster } from './live-cluster.ts'
import { createLiveState } from './live-state.ts'
import { API_PREFIX, openApiDocument } from './openapi.ts'
import { deadLettersRouter } from './routes/dead-letters.ts'
import { devicesRouter } from './routes/devices.ts'
import { healthRouter } from './routes/health.ts'
import { historyRouter } from './routes/history.ts'
import { incidentsRouter } from './routes/incidents.ts'
import { openIncidents, type OpenIncidents } from './incident-store.ts'
import { mapConfigRouter } from './routes/map-config.ts'

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
}

/** Without MQTT_URL the API serves REST from storage and memory but has no live feed (REST-only tests). */
export type ApiOptions = Pick<ApiConfig, 'HTTP_PORT' | 'HTTP_HOST'> &
  Partial<Pick<ApiConfig, 'MQTT_URL' | 'API_MQTT_USERNAME' | 'API_MQTT_PASSWORD' | 'DATA_DIR' | 'LIVE_FLUSH_MS' | 'LIVE_STATUS_CHECK_MS' | 'MAP_TILE_URL' | 'MAP_TILE_ATTRIBUTION' | 'REDIS_URL'>> &
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
      | 'CORS_ORIGINS'
      | 'HTTPS_CERT'
      | 'HTTPS_KEY'
      | 'BEHIND_PROXY'
      | 'IMPORT_MAX_BYTES'
    >
  >

/** Tiles come from the configured server; Leaflet sets inline styles; the socket is same-origin. */
function contentSecurityPolicy(tileUrl: string): Record<string, string[]> {
  // The template's scheme and host; a {s} subdomain becomes a wildcard.
  const m = /^(https?:)\/\/([^/]+)/.exec(tileUrl)
  const tiles = m ? [`${m[1]}//${m[2]!.replace(/\{s\}/g, '*')}`] : []
  return {
    'default-src': ["'self'"],
    'img-src': ["'self'", 'data:', 'blob:', ...tiles],
    'style-src': ["'self'", "'unsafe-inline'"],
    'connect-src': ["'self'"],
    'script-src': ["'self'"],
    'object-src': ["'none'"],
    'base-uri': ["'self'"],
    'frame-ancestors': ["'none'"],
    'form-action': ["'self'"],
  }
}

/** The built map: `npm run build:web` (npm start and npm test run it; the image builds it). */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../web/dist', import.meta.url))
/** What / answers while the web root holds no build (checked per request: a build made meanwhile is served). */
export const MAP_NOT_BUILT = 'the operator map is not built: run `npm run build:web` (npm start does), then reload'

export function createApi(config: ApiOptions, deps: ApiDeps) {
  const clock = deps.clock ?? Date.now
  const log = deps.logger
  const startedAt = Date.now()
  const state = createLiveState({ registry: deps.registry, store: deps.store, clock })
  let feedSince = clock()
  let push: LivePush | undefined
  let incidents: OpenIncidents | undefined
  const announceIncident = (change: IncidentChange) => {
    incidents?.apply(change)
    push?.announceIncident(change)
  }
  // With REDIS_URL: what this node alone knows (acknowledgements, ended sessions) reaches every node's browsers.
  let liveCluster: LiveCluster | undefined
  const announceEverywhere = (change: IncidentChange) => {
    if (!liveCluster) return announceIncident(change)
    incidents?.apply(change)
    return liveCluster.announceIncident(change)
  }
  let resyncing: Promise<void> | undefined

  // QoS 0 may have dropped readings while the link was down: after every (re)connect, catch up from storage.
  const rehydrate = () => {
    resyncing ??= state
      .hydrate()
      .catch((err: unknown) => log.warn('re-reading device state from storage failed', { err }))
      .finally(() => (resyncing = undefined))
  }
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
            onReadings: (readings) => state.applyReadings(readings),
            onConnection: (id, status) => state.applyConnection(id, status),
            onIncident: announceIncident,
            onConnect: rehydrate,
            onPipeline: (health) => push?.announcePipeline(health),
            onLink: (connected) => {
              feedSince = clock()
              if (!connected) log.warn('live feed disconnected; reconnecting')
              push?.announceFeed({ connected, since: feedSince })
            },
          },
        )

  // Sign-in (issue #6). Library defaults keep an embedder's old behaviour; env config gives production's.
  let provisioning: Provisioning | undefined
  const https = config.HTTPS_CERT !== undefined && config.HTTPS_KEY !== undefined
  // On a cluster, sign-in throttles and rate limits count over every API node (auth/throttle-from-config.ts).
  const limits = openLimitsFromConfig(config, {
    // Per (user name, client address) and per address, never per name alone (auth/throttle.ts): a stranger's guesses never lock the operator out.
    throttle: { maxFailures: config.LOGIN_MAX_FAILURES ?? 5, windowMs: 15 * 60_000, lockoutMs: (config.LOGIN_LOCKOUT_S ?? 900) * 1000 },
    ratePerMinute: config.API_RATE_LIMIT_PER_MIN ?? 0,
    logger: log.child({ part: 'limits' }),
  })
  const auth: AuthContext | undefined = deps.operators && {
    operators: deps.operators,
    throttle: limits.throttle,
    anonymousRole: config.AUTH_DISABLED ? 'operator' : undefined,
    sessionTtlMs: (config.SESSION_TTL_H ?? 12) * 3_600_000,
    secureCookies: https || (config.BEHIND_PROXY ?? false),
  }
  const audit = (entry: AuditInput, now: number): Promise<void> =>
    auth ? auth.operators.audit(entry, now).catch((err: unknown) => log.error('audit entry not written', { err, action: entry.action, actor: entry.actor })) : Promise.resolve()
  const corsOrigins = config.CORS_ORIGINS ?? []
  const rateLimit = limits.rateLimit
  const tileUrl = config.MAP_TILE_URL ?? apiEnv.shape.MAP_TILE_URL.parse(undefined)

  const app = express()
  app.disable('x-powered-by')
  if (config.BEHIND_PROXY) app.set('trust proxy', 1)
  // First, so every response (a helmet or CORS refusal too) has an id and every line logged for it carries it.
  app.use(requestId(log))
  app.use(
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives: { ...contentSecurityPolicy(tileUrl), ...(https ? { 'upgrade-insecure-requests': [] } : {}) } },
      // HSTS only when this server speaks HTTPS itself; behind a proxy the proxy sets it.
      strictTransportSecurity: https,
    }),
  )
  app.use(corsPolicy(corsOrigins))
  const v1 = express.Router()
  const jsonBody = express.json({ limit: '16kb' })
  v1.use(identify(auth, clock))
  // The import route reads its own (larger) body; everything else is JSON of at most 16 kB.
  v1.use((req, res, next) => (req.path === '/admin/devices/import' ? next() : jsonBody(req, res, next)))
  v1.use(healthRouter(deps.store, { feedConnected: () => feed?.connected, hydrated: () => state.hydrated, pipeline: () => feed?.pipeline }, () => Math.round((Date.now() - startedAt) / 1000)))
  v1.use(async (req, res, next) => {
    const wait = await rateLimit.take(clientIp(req), clock())
    if (wait === 0) return next()
    res.set('Retry-After', String(wait))
    next(new HttpError(429, `too many requests; try again in ${wait} s`))
  })
  const sessionsEnded = () => void (liveCluster ? liveCluster.recheck() : push?.recheck())
  v1.use(authRouter(auth, clock, sessionsEnded))
  v1.use(operatorsRouter(auth, clock, sessionsEnded))
  v1.use(adminDevicesRouter(() => provisioning, clock, config.IMPORT_MAX_BYTES ?? 5_000_000))
  // Dead letters show raw device payloads: operators. Everything below needs at least a viewer.
  v1.use('/dead-letters', requireRole('operator'))
  v1.use(requireRole('viewer'))
  v1.use(devicesRouter(state, clock))
  v1.use(historyRouter(deps.registry, deps.store, clock))
  v1.use(deadLettersRouter(deps.store))
  v1.use(
    mapConfigRouter({
      tileUrl,
      tileAttribution: config.MAP_TILE_ATTRIBUTION ?? apiEnv.shape.MAP_TILE_ATTRIBUTION.parse(undefined),
    }),
  )
  v1.use(incidentsRouter(() => incidents?.store, clock, announceEverywhere, audit))
  const doc = openApiDocument()
  v1.get('/openapi.json', (_req, res) => {
    res.json(doc)
  })
  app.use(API_PREFIX, v1)
  app.use(express.static(deps.webRoot ?? DEFAULT_WEB_ROOT))
  // reached only when the static files hold no index.html
  app.get(['/', '/index.html'], (_req, _res, next) => next(new HttpError(503, MAP_NOT_BUILT)))
  app.use(notFound)
  app.use(errorHandler(log))

  let server: Server | undefined
  let statusTimer: NodeJS.Timeout | undefined
  return {
    app,
    /** The versioned router, for the OpenAPI coverage test. */
    v1,
    state,
    get feed() {
      return feed
    },
    get push() {
      return push
    },
    get provisioning() {
      return provisioning
    },
    async start(): Promise<{ port: number }> {
      await deps.store.init()
      await state.hydrate()
      // The ingest's alert engine writes incidents (alerts.sqlite, or Redis with REDIS_URL); the API reads them and acknowledges.
      incidents = await openIncidents(config, log.child({ part: 'incidents' }))
      if (config.DATA_DIR !== undefined)
        provisioning = await openProvisioning({ DATA_DIR: config.DATA_DIR, REDIS_URL: config.REDIS_URL }, deps.registry, {
          logger: log.child({ part: 'provisioning' }),
          audit,
          notify: async (n) => (await feed?.publish(REGISTRY_NOTICE_TOPIC, JSON.stringify(n))) ?? false,
        })
      if (auth && config.DATA_DIR !== undefined)
        await ensureFirstAdmin(
          auth.operators,
          { dataDir: config.DATA_DIR, username: config.ADMIN_USERNAME ?? 'admin', password: config.ADMIN_PASSWORD, demo: config.AUTH_DEMO_ADMIN ?? false },
          log,
          clock(),
        )
      if (auth && config.AUTH_DISABLED) log.warn('AUTH_DISABLED=true: anyone who reaches this API acts as an operator (development only)')
      if (!auth) log.debug('no operator store: every caller is an anonymous operator')
      const s = https ? (createHttpsServer({ cert: readFileSync(config.HTTPS_CERT!), key: readFileSync(config.HTTPS_KEY!) }, app) as unknown as Server) : createServer(app)
      server = s
      push = createLivePush(s, config.LIVE_FLUSH_MS !== undefined ? { flushMs: config.LIVE_FLUSH_MS } : {}, {
        state,
        logger: log.child({ part: 'live-push' }),
        feedStatus: () => ({ connected: feed?.connected ?? false, since: feedSince }),
        activeIncidents: () => incidents?.active() ?? [],
        pipeline: () => feed?.pipeline,
        admit: async (req) => {
          if (!sameOriginOrListed(req, corsOrigins)) return 'forbidden origin'
          const caller = await callerFrom(req, auth, clock())
          if (caller.role === undefined) return 'sign-in required'
          return atLeast(caller.role, 'viewer') ? undefined : 'forbidden'
        },
      })
      if (config.REDIS_URL !== undefined) liveCluster = await joinLiveCluster(push, config.REDIS_URL, { logger: log.child({ part: 'live-cluster' }) })
      statusTimer = setInterval(() => state.refresh(), config.LIVE_STATUS_CHECK_MS ?? 1000)
      statusTimer.unref()
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject)
        s.listen(config.HTTP_PORT, config.HTTP_HOST, () => resolve())
      })
      // Waits for the broker: until the feed is subscribed the map would show storage's state as if it were live.
      await feed?.start()
      return { port: (s.address() as AddressInfo).port }
    },
    stop: once(async () => {
      clearInterval(statusTimer)
      await feed?.stop()
      await push?.stop()
      await liveCluster?.close()
      await resyncing
      await incidents?.close()
      await provisioning?.close()
      await limits.close()
      const s = server
      if (!s) return
      s.closeAllConnections()
      await new Promise<void>((resolve) => s.close(() => resolve()))
    }),
  }
}
export type Api = ReturnType<typeof createApi>
