import { openIncidentsFromConfig, redisOperatorIncidents, sqliteOperatorIncidents, type IncidentsConfig, type OperatorIncidents } from '@mytho/alerts'
import type { Incident, IncidentChange } from '@mytho/schema'
import type { Logger } from '@mytho/runtime'
import { activeIncidentsCache } from './active-incidents.ts'

/*
 * Where this API node finds the incidents the ingest's alert engine raises (openIncidentsFromConfig: the cluster's
 * Redis, where the ingest workers write too, whatever host they run on; else DATA_DIR/alerts.sqlite).
 * Undefined with neither (REST-only embedders): the incident routes then answer 503.
 */
export async function openIncidents(config: IncidentsConfig, logger: Logger) {
  const backend = openIncidentsFromConfig(config, { connectionName: 'mytho-api-incidents', logger })
  if (backend === undefined) return undefined
  if (backend.kind === 'redis') {
    const store = redisOperatorIncidents(backend.redis)
    const cache = activeIncidentsCache(store, { logger })
    await cache.start()
    return {
      store,
      active: cache.list,
      /** A change heard of (the ingest's announcement, an acknowledgement), for the browsers connecting next. */
      apply: (change: IncidentChange) => cache.apply(change),
      async close(): Promise<void> {
        await cache.stop()
        await backend.close()
      },
    }
  }
  const file = backend.store
  const store: OperatorIncidents = sqliteOperatorIncidents(file)
  return {
    store,
    active: (): Incident[] => file.list({ active: true }),
    apply: (_change: IncidentChange) => {},
    close: backend.close,
  }
}
export type OpenIncidents = NonNullable<Awaited<ReturnType<typeof openIncidents>>>
