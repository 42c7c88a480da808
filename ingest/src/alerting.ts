import { join } from 'node:path'
import type { Redis } from 'ioredis'
import {
  createAlertEngine,
  createRedisEngineStore,
  createTelegramNotifier,
  createWebhookNotifier,
  createZaloNotifier,
  defaultAlertRules,
  loadAlertRulesFile,
  openIncidentsFromConfig,
  type AlertRule,
  type ConnectionNews,
  type EngineIncidentStore,
  type IncidentStore,
  type RedisEngineStore,
} from '@mytho/alerts'
import type { DeviceRegistry, IncidentChange, StoredReading } from '@mytho/schema'
import type { Logger } from '@mytho/runtime'
import type { IngestConfig } from './config.ts'

export type AlertingOptions = Pick<
  IngestConfig,
  | 'DATA_DIR'
  | 'ALERT_RULES_FILE'
  | 'ALERT_TICK_MS'
  | 'WEBHOOK_URL'
  | 'WEBHOOK_SECRET'
  | 'TELEGRAM_BOT_TOKEN'
  | 'TELEGRAM_CHAT_ID'
  | 'TELEGRAM_API_URL'
  | 'ZALO_OA_ACCESS_TOKEN'
  | 'ZALO_OA_RECIPIENTS'
  | 'ZALO_OA_API_URL'
  | 'ZALO_OA_REFRESH_TOKEN'
  | 'ZALO_OA_APP_ID'
  | 'ZALO_OA_APP_SECRET'
  | 'ZALO_OA_OAUTH_URL'
  | 'NOTIFY_MAP_URL'
  | 'NOTIFY_LANGUAGE'
> &
  Partial<Pick<IngestConfig, 'REDIS_URL'>>

export interface AlertingDeps {
  registry: DeviceRegistry
  logger: Logger
  clock: () => number
  announce: (change: IncidentChange) => void
  /** Whether this worker owns the device now (its partition's lease). Default: every device. */
  owns?: (deviceId: string) => boolean
  /** The lease (key, this worker's token) under which the device's alert state may be written. Default none. */
  fence?: (deviceId: string) => { key: string; token: string } | undefined
}

/** Loads the rules now, so a bad rule file stops the start with a message naming the rule and field. */
export function loadRules(config: Pick<AlertingOptions, 'ALERT_RULES_FILE'>): AlertRule[] {
  return config.ALERT_RULES_FILE ? loadAlertRulesFile(config.ALERT_RULES_FILE) : defaultAlertRules
}

/**
 * The alert engine as the ingest runs it: fed with what was durably stored and with the devices'
 * retained status, ticking for silence and reminders, announcing every incident change to the API
 * and to the configured notifiers (which never block the ingest). Its state lives where openIncidentsFromConfig
 * says: DATA_DIR/alerts.sqlite (createSqliteAlerting), or with REDIS_URL in Redis (createRedisAlerting).
 */
export function createAlerting(config: AlertingOptions, deps: AlertingDeps) {
  // The rules first: a bad rule file stops the start before anything is opened.
  const rules = loadRules(config)
  const log = deps.logger.child({ part: 'alerts' })
  // Redis down is reported by the commit retries below (once, at warn); each reconnect attempt only at debug.
  const incidents = openIncidentsFromConfig(config, { connectionName: 'mytho-ingest-alerts', logger: log, connectionErrors: 'debug' })
  return incidents.kind === 'redis'
    ? createRedisAlerting(config, rules, { redis: incidents.redis, close: incidents.close }, log, deps)
    : createSqliteAlerting(config, rules, { store: incidents.store, close: incidents.close }, log, deps)
}
export type Alerting = ReturnType<typeof createAlerting>

function notifiersFor(config: AlertingOptions, deps: AlertingDeps, log: Logger) {
  return [
    ...(config.WEBHOOK_URL && config.WEBHOOK_SECRET ? [createWebhookNotifier({ url: config.WEBHOOK_URL, secret: config.WEBHOOK_SECRET, logger: log })] : []),
    ...(config.TELEGRAM_BOT_TOKEN && config.TELEGRAM_CHAT_ID
      ? [
          createTelegramNotifier({
            token: config.TELEGRAM_BOT_TOKEN,
            chatId: config.TELEGRAM_CHAT_ID,
            language: config.NOTIFY_LANGUAGE,
            registry: deps.registry,
            logger: log,
            ...(config.TELEGRAM_API_URL ? { apiUrl: config.TELEGRAM_API_URL } : {}),
          }),
        ]
      : []),
    ...(config.ZALO_OA_RECIPIENTS && (config.ZALO_OA_ACCESS_TOKEN || config.ZALO_OA_REFRESH_TOKEN)
      ? [
          createZaloNotifier({
            recipients: config.ZALO_OA_RECIPIENTS,
            registry: deps.registry,
            logger: log,
            ...(config.ZALO_OA_ACCESS_TOKEN ? { accessToken: config.ZALO_OA_ACCESS_TOKEN } : {}),
            ...(config.ZALO_OA_API_URL ? { apiUrl: config.ZALO_OA_API_URL } : {}),
            ...(config.NOTIFY_MAP_URL ? { mapUrl: config.NOTIFY_MAP_URL } : {}),
            ...(config.ZALO_OA_REFRESH_TOKEN && config.ZALO_OA_APP_ID && config.ZALO_OA_APP_SECRET
              ? {
                  refresh: {
                    refreshToken: config.ZALO_OA_REFRESH_TOKEN,
                    appId: config.ZALO_OA_APP_ID,
                    appSecret: config.ZALO_OA_APP_SECRET,
                    tokenFile: join(config.DATA_DIR, 'secrets', 'zalo-oa-tokens.json'),
                    ...(config.ZALO_OA_OAUTH_URL ? { oauthUrl: config.ZALO_OA_OAUTH_URL } : {}),
                  },
                }
              : {}),
          }),
        ]
      : []),
  ]
}

/** One host: every change is durable in alerts.sqlite when the engine returns. */
function createSqliteAlerting(
  config: AlertingOptions,
  rules: AlertRule[],
  incidents: { store: IncidentStore; close(): Promise<void> },
  log: Logger,
  deps: AlertingDeps,
) {
  const store = incidents.store
  const notifiers = notifiersFor(config, deps, log)
  const engine = createAlertEngine({
    rules,
    registry: deps.registry,
    store,
    clock: deps.clock,
    logger: log,
    onChange: (change) => {
      deps.announce(change)
      for (const n of notifiers) n.notify(change)
    },
  })
  let timer: NodeJS.Timeout | undefined
  return {
    engine,
    store: store as EngineIncidentStore,
    /** Acknowledgements need not wait: what the engine wrote is committed when it returns. */
    deferAcks: false,
    settled: (): Promise<void> => Promise.resolve(),
    async start(latest: readonly StoredReading[]): Promise<void> {
      engine.hydrate(latest)
      timer = setInterval(() => {
        try {
          engine.tick()
        } catch (err) {
          log.error('alert tick failed', { err })
        }
      }, config.ALERT_TICK_MS)
      timer.unref()
    },
    onStored(readings: readonly StoredReading[]): void {
      try {
        // An alert bug must never stop readings from being stored and acknowledged.
        engine.onReadings(readings, (err, r) => log.error('alert evaluation failed', { err, deviceId: r.deviceId }))
      } catch (err) {
        log.error('alert evaluation failed', { err })
      }
    },
    onConnection(deviceId: string, status: 'online' | 'offline', at: number, how: ConnectionNews = {}): void {
      engine.onConnection(deviceId, status, at, how)
    },
    /** A partition taken: its devices' holds are read again from the shared file. */
    acquire(deviceIds: ReadonlySet<string>): void {
      engine.forgetDevices(deviceIds)
    },
    beforeHandOver: async (): Promise<void> => {},
    /** A partition handed back (`save`: its holds written for the next owner) or lost. */
    release(deviceIds: ReadonlySet<string>, o: { save: boolean }): void {
      engine.forgetDevices(deviceIds, { save: o.save })
    },
    async stop(): Promise<void> {
      clearInterval(timer)
      for (const n of notifiers) n.stop()
      await incidents.close()
    },
  }
}

/**
 * Several hosts: the engine works on a mirror of the alert state of the devices this worker owns
 * (redis-engine-store.ts). Everything that touches it runs in one queue, one task at a time: a partition's state
 * is loaded before any of its readings is judged, and each batch's writes are committed to Redis (retried while
 * Redis is away) before `settled()` resolves, which the ingest awaits before it acknowledges the batch. Changes
 * are announced after their commit, as Redis has them (with any acknowledgement the API made meanwhile).
 */
function createRedisAlerting(
  config: AlertingOptions,
  rules: AlertRule[],
  incidents: { redis: Redis; close(): Promise<void> },
  log: Logger,
  deps: AlertingDeps,
) {
  const notifiers = notifiersFor(config, deps, log)
  const ownsDevice = deps.owns ?? (() => true)
  const redis = incidents.redis
  // Roads and devices unknown to the registry have no partition: whoever evaluates them holds them.
  const store: RedisEngineStore = createRedisEngineStore(redis, {
    owns: (s) => (deps.registry.get(s) ? ownsDevice(s) : true),
    ...(deps.fence ? { fence: (s: string) => (deps.registry.get(s) ? deps.fence!(s) : undefined) } : {}),
  })
  const changes: IncidentChange[] = []
  const engine = createAlertEngine({ rules, registry: deps.registry, store, clock: deps.clock, logger: log, onChange: (c) => changes.push(c) })
  let closed = false
  let redisDown = false
  let tail: Promise<void> = Promise.resolve()
  let tickQueued = false
  let timer: NodeJS.Timeout | undefined

  const enqueue = (what: string, task: () => Promise<void> | void): Promise<void> =>
    (tail = tail.then(task).catch((err: unknown) => log.error(`alert ${what} failed`, { err })))
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref())

  /** Retries until Redis has it: a batch is acknowledged only after, so the broker keeps it meanwhile. */
  async function durably<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let delay = 100; ; delay = Math.min(delay * 2, 5_000)) {
      try {
        const result = await fn()
        if (redisDown) log.info('redis is back; alert state committed')
        redisDown = false
        return result
      } catch (err) {
        if (closed) throw err
        if (!redisDown) log.warn(`alert state: ${what} failed; retrying, acknowledgements wait`, { err: (err as Error).message })
        redisDown = true
        await sleep(delay)
      }
    }
  }

  async function commitAndAnnounce(): Promise<void> {
    const refused = await durably('commit to Redis', () => store.commit())
    if (refused > 0) log.warn('alert state refused: the partition lease passed to another worker', { writes: refused })
    const done = changes.splice(0)
    if (done.length === 0) return
    const current = await store.current([...new Set(done.map((c) => c.incident.id))]).catch(() => new Map())
    for (const c of done) {
      const change = { incident: current.get(c.incident.id) ?? c.incident, event: c.event }
      try {
        deps.announce(change)
        for (const n of notifiers) n.notify(change)
      } catch (err) {
        log.error('incident listener failed', { err })
      }
    }
  }

  const subjectsOf = (deviceIds: ReadonlySet<string>) => {
    const roads = [...deviceIds].flatMap((id) => deps.registry.get(id)?.road ?? [])
    return [...new Set([...deviceIds, ...roads])]
  }

  return {
    engine,
    /** This worker's incidents (the mirror): what its metrics count. */
    store: store as EngineIncidentStore,
    deferAcks: true,
    /** Resolves once everything handed to the alerting so far is evaluated and committed to Redis. */
    settled: (): Promise<void> => tail,
    async start(latest: readonly StoredReading[]): Promise<void> {
      try {
        await redis.connect()
        // A worker that owns every device (no partitions) loads every hold record now; partitions load as taken.
        if (deps.owns === undefined) await store.loadAll()
      } catch (err) {
        throw new Error(`REDIS_URL: alert state not readable: ${(err as Error).message}`, { cause: err })
      }
      redis
        .config('GET', 'appendonly')
        .then((r) => {
          if ((r as string[])[1] !== 'yes') log.warn('Redis runs without appendonly: a Redis restart would lose incidents and hold timers (docs/cluster.md)')
        })
        .catch(() => {}) // CONFIG may be disabled on a managed Redis
      engine.hydrate(latest)
      timer = setInterval(() => {
        if (tickQueued) return
        tickQueued = true
        void enqueue('tick', async () => {
          tickQueued = false
          // Redis away: judge on the mirror as it is (the commit below waits for Redis anyway).
          await store.refresh().catch((err: unknown) => log.debug('incidents not read again', { err: (err as Error).message }))
          engine.tick()
          await commitAndAnnounce()
        })
      }, config.ALERT_TICK_MS)
      timer.unref()
    },
    onStored(readings: readonly StoredReading[]): void {
      // Readings of devices this worker does not own (a dead worker's spool drained here) are the owner's to judge.
      const mine = readings.filter((r) => ownsDevice(r.deviceId))
      if (mine.length === 0) return
      void enqueue('evaluation', async () => {
        engine.onReadings(mine, (err, r) => log.error('alert evaluation failed', { err, deviceId: r.deviceId }))
        await commitAndAnnounce()
      })
    },
    onConnection(deviceId: string, status: 'online' | 'offline', at: number, how: ConnectionNews = {}): void {
      if (!ownsDevice(deviceId)) return
      void enqueue('status', async () => {
        engine.onConnection(deviceId, status, at, how)
        await commitAndAnnounce()
      })
    },
    /** A partition taken: its devices' and roads' state is read from Redis before any of their readings is judged. */
    acquire(deviceIds: ReadonlySet<string>): void {
      engine.forgetDevices(deviceIds)
      const subjects = subjectsOf(deviceIds)
      void enqueue('load', () => durably('load of a taken partition', () => store.load(subjects)))
    },
    /** Before a partition is handed back: every hold as it is now (mean windows too) committed for the next owner. */
    beforeHandOver: (): Promise<void> =>
      enqueue('hand-over', async () => {
        engine.saveHolds()
        await commitAndAnnounce()
      }),
    /** A partition handed back or lost: nothing more is written for its devices (what is not committed is dropped: its batches were not acknowledged). */
    release(deviceIds: ReadonlySet<string>): void {
      engine.forgetDevices(deviceIds)
      store.unload(deviceIds, { dropPending: true })
    },
    async stop(): Promise<void> {
      clearInterval(timer)
      await Promise.race([
        enqueue('save at stop', async () => {
          engine.saveHolds()
          await store.commit()
        }),
        sleep(5_000),
      ])
      closed = true
      for (const n of notifiers) n.stop()
      await incidents.close()
    },
  }
}
