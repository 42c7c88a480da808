import { join } from 'node:path'
import { Redis } from 'ioredis'
import { silentLogger, type Logger } from '@mytho/runtime'
import { openIncidentStore, type IncidentStore } from './incident-store.ts'

/** File name of the incident store inside DATA_DIR (one host). */
export const ALERTS_SQLITE_FILE = 'alerts.sqlite'

export const alertsSqlitePath = (dataDir: string): string => join(dataDir, ALERTS_SQLITE_FILE)

/** Where the incidents live, in the services' env names. */
export interface IncidentsConfig {
  DATA_DIR?: string | undefined
  REDIS_URL?: string | undefined
}

/**
 * The incident store as opened: one host's file (every write durable when it returns), or a connection to the
 * cluster's Redis (connected on first use) for the Redis-side stores (createRedisEngineStore, redisOperatorIncidents).
 * The ingest's engine and the API's reads differ by kind, so the kind is given, not hidden; close() releases either.
 */
export type IncidentBackend = { kind: 'sqlite'; store: IncidentStore; close(): Promise<void> } | { kind: 'redis'; redis: Redis; close(): Promise<void> }

export interface IncidentsFromConfigOptions {
  /** The Redis connection's name (CLIENT LIST), per process kind: 'mytho-ingest-alerts', 'mytho-api-incidents'. */
  connectionName: string
  /** Where the Redis connection's errors go. Default silent. */
  logger?: Logger
  /** Their level: 'debug' where the caller reports an outage itself (the ingest's retries). Default 'warn'. */
  connectionErrors?: 'warn' | 'debug'
}

/**
 * The single-host or cluster choice for incidents, made here and nowhere else: with REDIS_URL the cluster's Redis
 * (the ingest workers write there and the API nodes read there, whatever host they run on), else
 * `${DATA_DIR}/alerts.sqlite` (WAL; the folder is created). Undefined with neither (a REST-only embedder of the API).
 */
export function openIncidentsFromConfig(config: IncidentsConfig & { DATA_DIR: string }, options: IncidentsFromConfigOptions): IncidentBackend
export function openIncidentsFromConfig(config: IncidentsConfig, options: IncidentsFromConfigOptions): IncidentBackend | undefined
export function openIncidentsFromConfig(config: IncidentsConfig, options: IncidentsFromConfigOptions): IncidentBackend | undefined {
  if (config.REDIS_URL !== undefined) {
    const logger = options.logger ?? silentLogger
    const redis = new Redis(config.REDIS_URL, { lazyConnect: true, connectionName: options.connectionName })
    // Unheard, an 'error' event would end the process; ioredis reconnects by itself meanwhile.
    redis.on('error', (err: Error) => logger[options.connectionErrors ?? 'warn']('redis connection error', { err: err.message }))
    let closed: Promise<void> | undefined
    return {
      kind: 'redis',
      redis,
      close: () =>
        (closed ??= redis.quit().then(
          () => undefined,
          () => redis.disconnect(),
        )),
    }
  }
  if (config.DATA_DIR === undefined) return undefined
  const store = openIncidentStore(alertsSqlitePath(config.DATA_DIR))
  return { kind: 'sqlite', store, close: async () => store.close() }
}
