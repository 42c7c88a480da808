import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import express from 'express'
import { openIncidentStore, type IncidentStore } from '@mytho/alerts'
import type { DeviceRegistry, IncidentChange } from '@mytho/schema'
import { once, servicePassword, type Logger } from '@mytho/runtime'
import type { ReadingStore } from '@mytho/storage'
import { apiEnv, type ApiConfig } from './config.ts'
import { errorHandler, notFound } from './http-errors.ts'
import { createLiveFeed, type LiveFeed } from './live-feed.ts'
import { createLivePush, type LivePush } from './live-push.ts'
import { createLiveState } from './live-state.ts'
import { API_PREFIX, openApiDocument } from './openapi.ts'
import { deadLettersRouter } from './routes/dead-letters.ts'
import { devicesRouter } from './routes/devices.ts'
import { healthRouter } from './routes/health.ts'
import { historyRouter } from './routes/history.ts'
import { incidentsRouter } from './routes/incidents.ts'
import { mapConfigRouter } from './routes/map-config.ts'

export interface ApiDeps {
  store: ReadingStore
  registry: DeviceRegistry
  logger: Logger
  clock?: () => number
  /** Folder of the built map; default web/public. */
  webRoot?: string
}

/** Without MQTT_URL the API serves REST from storage and memory but has no live feed (REST-only tests). */
export type ApiOptions = Pick<ApiConfig, 'HTTP_PORT' | 'HTTP_HOST'> &
  Partial<Pick<ApiConfig, 'MQTT_URL' | 'API_MQTT_USERNAME' | 'API_MQTT_PASSWORD' | 'DATA_DIR' | 'LIVE_FLUSH_MS' | 'LIVE_STATUS_CHECK_MS' | 'MAP_TILE_URL' | 'MAP_TILE_ATTRIBUTION'>>

/** The built map (web/dist, `npm run build -w @mytho/web`) when it exists, else the placeholder page in web/public. */
export function chooseWebRoot(): string {
  const built = fileURLToPath(new URL('../../web/dist', import.meta.url))
  return existsSync(join(built, 'index.html')) ? built : fileURLToPath(new URL('../../web/public', import.meta.url))
}
export const DEFAULT_WEB_ROOT = chooseWebRoot()

export function createApi(config: ApiOptions, deps: ApiDeps) {
  const clock = deps.clock ?? Date.now
  const log = deps.logger
  const startedAt = Date.now()
  const state = createLiveState({ registry: deps.registry, store: deps.store, clock })
  let feedSince = clock()
  let push: LivePush | undefined
  let incidents: IncidentStore | undefined
  const announceIncident = (change: IncidentChange) => push?.announceIncident(change)
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
            onLink: (connected) => {
              feedSince = clock()
              if (!connected) log.warn('live feed disconnected; reconnecting')
              push?.announceFeed({ connected, since: feedSince })
            },
          },
        )

  const app = express()
  app.disable('x-powered-by')
  const v1 = express.Router()
  v1.use(healthRouter(deps.store, { feedConnected: () => feed?.connected, hydrated: () => state.hydrated }, () => Math.round((Date.now() - startedAt) / 1000)))
  v1.use(devicesRouter(state, clock))
  v1.use(historyRouter(deps.registry, deps.store, clock))
  v1.use(deadLettersRouter(deps.store))
  v1.use(
    mapConfigRouter({
      tileUrl: config.MAP_TILE_URL ?? apiEnv.shape.MAP_TILE_URL.parse(undefined),
      tileAttribution: config.MAP_TILE_ATTRIBUTION ?? apiEnv.shape.MAP_TILE_ATTRIBUTION.parse(undefined),
    }),
  )
  v1.use(express.json({ limit: '16kb' }), incidentsRouter(() => incidents, clock, announceIncident))
  const doc = openApiDocument()
  v1.get('/openapi.json', (_req, res) => {
    res.json(doc)
  })
  app.use(API_PREFIX, v1)
  app.use(express.static(deps.webRoot ?? DEFAULT_WEB_ROOT))
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
    async start(): Promise<{ port: number }> {
      await deps.store.init()
      await state.hydrate()
      // The ingest's alert engine writes incidents to DATA_DIR/alerts.sqlite; the API reads them and acknowledges.
      if (config.DATA_DIR !== undefined) incidents = openIncidentStore(join(config.DATA_DIR, 'alerts.sqlite'))
      const s = createServer(app)
      server = s
      push = createLivePush(s, config.LIVE_FLUSH_MS !== undefined ? { flushMs: config.LIVE_FLUSH_MS } : {}, {
        state,
        logger: log.child({ part: 'live-push' }),
        feedStatus: () => ({ connected: feed?.connected ?? false, since: feedSince }),
        activeIncidents: () => incidents?.list({ active: true }) ?? [],
      })
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
      await resyncing
      incidents?.close()
      const s = server
      if (!s) return
      s.closeAllConnections()
      await new Promise<void>((resolve) => s.close(() => resolve()))
    }),
  }
}
export type Api = ReturnType<typeof createApi>
