import { fileURLToPath } from 'node:url'
import express from 'express'
import helmet from 'helmet'
import type { AlarmLine, DeviceRecord, DeviceRegistry, IncidentChange, RedriveRequest, RedriveResult } from '@mytho/schema'
import type { Logger } from '@mytho/runtime'
import type { ReadingStore } from '@mytho/storage'
import type { AlertRule, DeviceJudge, OperatorIncidents } from '@mytho/alerts'
import type { AgencyKeyStore, AuditInput } from '@mytho/directory'
import { clientIp, identify, requireRole, type AuthContext } from './auth/session.ts'
import { corsPolicy } from './auth/cors.ts'
import type { SignInStats } from './auth/sign-in-stats.ts'
import type { LoginThrottle, RateLimit } from './auth/throttle.ts'
import { errorHandler, HttpError, notFound } from './http-errors.ts'
import type { LiveFeed } from './live-feed.ts'
import type { LiveState } from './live-state.ts'
import { API_PREFIX, openApiDocument } from './openapi.ts'
import type { Provisioning } from './provisioning.ts'
import { requestId } from './request-id.ts'
import { timeRequests, type RequestTiming } from './request-timing.ts'
import { adminDevicesRouter } from './routes/admin-devices.ts'
import { authRouter } from './routes/auth.ts'
import { deadLettersRouter } from './routes/dead-letters.ts'
import { devicesRouter } from './routes/devices.ts'
import { healthRouter } from './routes/health.ts'
import { historyRouter } from './routes/history.ts'
import { historyCsvRouter } from './routes/history-csv.ts'
import { incidentLogRouter } from './routes/incident-log.ts'
import { incidentsRouter } from './routes/incidents.ts'
import { mapConfigRouter } from './routes/map-config.ts'
import { basemapRouter, geographyRouter } from './routes/geography.ts'
import type { Basemap } from './basemap.ts'
import type { LoadedOverlay } from './overlays.ts'
import { mqttCaRouter } from './routes/mqtt-ca.ts'
import { MQTT_CA_DOWNLOAD_NAME } from './mqtt-ca.ts'
import { operatorsRouter } from './routes/operators.ts'
import { adminAgencyKeysRouter } from './routes/admin-agency-keys.ts'
import { refuseAgencyKeys } from './sharing/agency-auth.ts'
import type { NgsiNotifier } from './sharing/ngsi-notifier.ts'
import { NGSI_PREFIX } from './sharing/ngsi-problem.ts'
import { ngsiRouter } from './sharing/ngsi-router.ts'
import { replayRouter } from './routes/replay.ts'
import { OPEN_DATA_PREFIX, openDataRouter } from './routes/open-data.ts'

/** The built map: `npm run build:web` (npm start and npm test run it; the image builds it). */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../web/dist', import.meta.url))
/** What / answers while the web root holds no build (checked per request: a build made meanwhile is served). */
export const MAP_NOT_BUILT = 'the operator map is not built: run `npm run build:web` (npm start does), then reload'

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

export interface HttpAppOptions {
  https: boolean
  behindProxy: boolean
  corsOrigins: readonly string[]
  tileUrl: string
  tileAttribution: string
  /** The broker as installers reach it (MQTT_PUBLIC_URL), for the admin page's test command. */
  mqttPublicUrl?: string
  /** The CA certificate(s) devices trust for the broker's TLS (MQTT_PUBLIC_CA, PEM), served at GET /mqtt-ca.pem. */
  mqttPublicCa?: string
  /** Largest device import body, bytes. */
  importMaxBytes: number
  /** Folder of the built map. */
  webRoot: string
  /** The city's overlays (MAP_OVERLAYS_DIR), validated at start. */
  overlays: readonly LoadedOverlay[]
  /** The city's basemap file (MAP_BASEMAP_FILE), when set. */
  basemap: Basemap | undefined
  /** OPEN_DATA_DIR, served read-only without auth at /open-data/ when set (issue #22). */
  openDataDir?: string
}

/** The parts the routes use; those opened at the API's start() are read through functions (undefined before it). */
export interface HttpAppParts {
  store: ReadingStore
  registry: DeviceRegistry
  state: LiveState
  feed: LiveFeed | undefined
  auth: AuthContext | undefined
  rateLimit: RateLimit
  /** An agency key's own rate (issue #22), counted where rateLimit is. */
  rateFor: (perMinute: number) => RateLimit
  /** Unknown or revoked agency keys per client address, counted before a key is looked up (issue #22). */
  agencyKeyFailures: LoginThrottle
  /** Basemap tiles' own per-address limit (TILE_RATE_LIMIT_PER_MIN): tiles are not counted in rateLimit. */
  tileRateLimit: RateLimit
  /** Agency keys and their subscriptions (opened at start, with DATA_DIR). */
  agencyKeys: () => AgencyKeyStore | undefined
  ngsiNotifier: () => NgsiNotifier | undefined
  audit: (entry: AuditInput, now: number) => Promise<void>
  incidents: () => OperatorIncidents | undefined
  provisioning: () => Provisioning | undefined
  /** Asks the ingest to re-drive a device's dead letters (redrive-client.ts); throws an HttpError 503/504 when it cannot. */
  redrive: (req: RedriveRequest) => Promise<RedriveResult>
  /** An acknowledgement, to every browser (every node's with REDIS_URL). */
  announceIncident: (change: IncidentChange) => void
  /** Sessions ended: the sockets' handshakes are checked again. */
  sessionsEnded: () => void
  uptimeS: () => number
  /** The level lines of a device's chart, from the rules the markers are judged by. */
  alarmLines: (device: DeviceRecord) => AlarmLine[]
  /** The rule set the engine runs and its judge: replay judges past readings and rebuilds past incidents with them. */
  rules: readonly AlertRule[]
  judge: DeviceJudge
  clock: () => number
  logger: Logger
  /** Each finished request's timing (metrics.ts: the HTTP request histogram). */
  onRequest?: (t: RequestTiming) => void
  /** Sign-in outcomes and lockouts (metrics.ts). */
  signIns?: SignInStats
}

/** The express app: security headers, the versioned REST routes under API_PREFIX, the built map, one error handler. */
export function createHttpApp(opts: HttpAppOptions, parts: HttpAppParts) {
  const { state, feed, auth, clock, logger: log } = parts
  const app = express()
  app.disable('x-powered-by')
  if (opts.behindProxy) app.set('trust proxy', 1)
  // First, so every response (a helmet or CORS refusal too) has an id and every line logged for it carries it.
  app.use(requestId(log))
  const { onRequest } = parts
  if (onRequest) app.use(timeRequests(onRequest))
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: { ...contentSecurityPolicy(opts.tileUrl), ...(opts.https ? { 'upgrade-insecure-requests': [] } : {}) },
      },
      // HSTS when this server speaks HTTPS itself; behind a proxy, below, for the requests that came over HTTPS.
      strictTransportSecurity: opts.https,
    }),
  )
  if (opts.behindProxy && !opts.https) {
    // req.secure comes from the proxy's X-Forwarded-Proto (trust proxy): a plain-HTTP hop to the proxy must not be
    // told to stick to HTTPS, and every proxy in front of us gets HSTS without its own configuration.
    const hsts = helmet.strictTransportSecurity()
    app.use((req, res, next) => (req.secure ? hsts(req, res, next) : next()))
  }
  app.use(corsPolicy(opts.corsOrigins))
  // The sharing interface for other agencies (issue #22): agency keys only, never an operator's session.
  app.use(
    NGSI_PREFIX,
    ngsiRouter({
      registry: parts.registry,
      store: parts.store,
      keys: parts.agencyKeys,
      notifier: parts.ngsiNotifier,
      rateFor: parts.rateFor,
      keyFailures: parts.agencyKeyFailures,
      clock,
      logger: log,
    }),
  )
  // The daily open-data files (issue #22): public, read-only, no session and no key.
  if (opts.openDataDir !== undefined) app.use(OPEN_DATA_PREFIX, openDataRouter(opts.openDataDir, parts.rateLimit, clock))
  const v1 = express.Router()
  const jsonBody = express.json({ limit: '16kb' })
  v1.use(refuseAgencyKeys)
  v1.use(identify(auth, clock))
  // The import route reads its own (larger) body; everything else is JSON of at most 16 kB.
  v1.use((req, res, next) => (req.path === '/admin/devices/import' ? next() : jsonBody(req, res, next)))
  v1.use(healthRouter(parts.store, { feedConnected: () => feed?.connected, hydrated: () => state.hydrated, pipeline: () => feed?.pipeline }, parts.uptimeS))
  // Before the request limit: tiles count against their own (routes/geography.ts says why).
  v1.use(basemapRouter(opts.basemap, parts.tileRateLimit, clock))
  v1.use(async (req, res, next) => {
    const wait = await parts.rateLimit.take(clientIp(req), clock())
    if (wait === 0) return next()
    res.set('Retry-After', String(wait))
    next(new HttpError(429, `too many requests; try again in ${wait} s`))
  })
  v1.use(authRouter(auth, clock, parts.sessionsEnded, parts.signIns))
  v1.use(operatorsRouter(auth, clock, parts.sessionsEnded))
  v1.use(adminDevicesRouter(parts.provisioning, clock, opts.importMaxBytes))
  v1.use(adminAgencyKeysRouter(parts.agencyKeys, clock, parts.audit))
  // Dead letters show raw device payloads: operators. Everything below needs at least a viewer.
  v1.use('/dead-letters', requireRole('operator'))
  v1.use(requireRole('viewer'))
  v1.use(devicesRouter(state, clock, parts.alarmLines))
  v1.use(historyRouter(parts.registry, parts.store, clock))
  v1.use(historyCsvRouter(parts.registry, parts.store, clock, log))
  v1.use(replayRouter({ registry: parts.registry, store: parts.store, incidents: parts.incidents, rules: parts.rules, judge: parts.judge, clock }))
  v1.use(deadLettersRouter(parts.store, { registry: parts.registry, provisioning: parts.provisioning, redrive: parts.redrive, clock, audit: parts.audit }))
  v1.use(
    mapConfigRouter({
      tileUrl: opts.tileUrl,
      tileAttribution: opts.tileAttribution,
      ...(opts.mqttPublicUrl !== undefined ? { mqttUrl: opts.mqttPublicUrl } : {}),
      ...(opts.mqttPublicCa !== undefined ? { mqttCa: { url: `${API_PREFIX}/mqtt-ca.pem`, fileName: MQTT_CA_DOWNLOAD_NAME } } : {}),
      ...(opts.basemap ? { basemap: opts.basemap.info } : {}),
    }),
  )
  v1.use(geographyRouter(opts.overlays))
  v1.use(mqttCaRouter(opts.mqttPublicCa))
  v1.use(incidentLogRouter(parts.incidents, parts.registry))
  v1.use(incidentsRouter(parts.incidents, clock, parts.announceIncident, parts.audit))
  const doc = openApiDocument()
  v1.get('/openapi.json', (_req, res) => {
    res.json(doc)
  })
  app.use(API_PREFIX, v1)
  app.use(express.static(opts.webRoot))
  // reached only when the static files hold no index.html
  app.get(['/', '/index.html'], (_req, _res, next) => next(new HttpError(503, MAP_NOT_BUILT)))
  app.use(notFound)
  app.use(errorHandler(log))
  return { app, v1 }
}
