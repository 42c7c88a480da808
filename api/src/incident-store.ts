import { join } from 'node:path'
import { Redis } from 'ioredis'
import { openIncidentStore, redisOperatorIncidents, sqliteOperatorIncidents, type OperatorIncidents } from '@mytho/alerts'
import type { Incident, IncidentChange } from '@mytho/schema'
import type { Logger } from '@mytho/runtime'
import { activeIncidentsCache } from './active-incidents.ts'

/*
 * Where this API node finds the incidents the ingest's alert engine raises: with REDIS_URL in the cluster's Redis
 * (the ingest workers write there too, whatever host they run on), else in DATA_DIR/alerts.sqlite as before.
 * Undefined with neither (REST-only embedders): the incident routes then answer 503.
 */
export async function openIncidents(config: { DATA_DIR?: string | undefined; REDIS_URL?: string | undefined }, logger: Logger) {
  if (config.REDIS_URL !== undefined) {
    const redis = new Redis(config.REDIS_URL, { lazyConnect: true, connectionName: 'mytho-api-incidents' })
    redis.on('error', (err: Error) => logger.warn('redis connection error', { err: err.message }))
    const store = redisOperatorIncidents(redis)
    const cache = activeIncidentsCache(store, { logger })
    await cache.start()
    return {
      store,
      active: cache.list,
      /** A change heard of (the ingest's announcement, an acknowledgement), for the browsers connecting next. */
      apply: (change: IncidentChange) => cache.apply(change),
      async close(): Promise<void> {
        await cache.stop()
        await redis.quit().catch(() => redis.disconnect())
      },
    }
  }
  if (config.DATA_DIR === undefined) return undefined
  const file = openIncidentStore(join(config.DATA_DIR, 'alerts.sqlite'))
  const store: OperatorIncidents = sqliteOperatorIncidents(file)
  return {
    store,
    active: (): Incident[] => file.list({ active: true }),
    apply: (_change: IncidentChange) => {},
    close: async () => file.close(),
  }
}
export type OpenIncidents = NonNullable<Awaited<ReturnType<typeof openIncidents>>>
