import { Router } from 'express'
import type { PipelineHealth, ReadyResponse } from '@mytho/schema'
import type { ReadingStore } from '@mytho/storage'

export interface Readiness {
  /** undefined when the API runs without a live feed (MQTT_URL not given to createApi). */
  feedConnected: () => boolean | undefined
  hydrated: () => boolean
  /** The ingest's last pipeline health; undefined before the first (or without a live feed). */
  pipeline?: () => PipelineHealth | undefined
}

/**
 * /health is liveness (the process answers; a storage outage must not get it restarted), /ready is
 * readiness: storage reachable, live feed subscribed, device state loaded. The ingest's pipeline health is
 * reported beside it but is not part of it: a degraded or blocked pipeline is the ingest's (or InfluxDB's)
 * trouble, and this API still serves what is stored and live-pushes what arrives; taking it out of the load
 * balancer would only turn "late data" into "no map". The map shows the pipeline banner instead.
 */
export function healthRouter(store: ReadingStore, readiness: Readiness, uptimeS: () => number): Router {
  const r = Router()
  r.get('/health', (_req, res) => {
    res.json({ status: 'ok', uptimeS: uptimeS() })
  })
  r.get('/ready', async (_req, res) => {
    let storage = 'ok'
    try {
      await store.latest(['__ready__'])
    } catch (err) {
      storage = (err as Error).message
    }
    const fc = readiness.feedConnected()
    const feed = fc === undefined ? 'disabled' : fc ? 'connected' : 'disconnected'
    const hydrated = readiness.hydrated()
    const ready = storage === 'ok' && feed !== 'disconnected' && hydrated
    const body: ReadyResponse = {
      status: ready ? 'ready' : 'not_ready',
      storage,
      feed,
      hydrated,
      pipeline: readiness.pipeline?.() ?? null,
      // Retention or roll-ups asked and not set up is reported, not unreadiness: the API serves what is there.
      storageStatus: store.status?.() ?? null,
    }
    res.status(ready ? 200 : 503).json(body)
  })
  return r
}
