import { counterFrom, gaugeFrom, Histogram, type Registry } from '@mytho/runtime'
import type { Api } from './api.ts'

/** Seconds, 5 ms to 10 s: a live push flushes every 10 ms; past a few seconds the map no longer looks live. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** Browsers connected, what the live push sends and how late, the API's own feed, HTTP requests and sign-ins. */
export function registerApiMetrics(registry: Registry, api: Api): void {
  gaugeFrom(registry, 'mytho_socketio_clients', 'Socket.IO clients (map browsers) connected', () => api.push?.io.engine.clientsCount ?? 0)
  gaugeFrom(registry, 'mytho_api_feed_connected', '1 while the API receives the live stream from the broker', () => (api.feed?.connected ? 1 : 0))
  counterFrom(registry, 'mytho_live_updates_sent_total', 'Device updates pushed to browsers', () => api.push?.stats.updatesSent ?? 0)
  counterFrom(registry, 'mytho_live_batches_total', 'Live push batches flushed', () => api.push?.stats.batches ?? 0)
  counterFrom(registry, 'mytho_api_feed_bad_messages_total', 'Platform messages the API could not parse', () => api.feed?.stats.bad ?? 0)
  // The readings' receive time is the ingest's (StoredReading.receivedAt): this is ingest → storage → platform topic
  // → API → Socket.IO, the part of a device's way to the operator that the platform controls.
  const push = new Histogram({
    name: 'mytho_api_push_latency_seconds',
    help: 'From the ingest receiving a reading (receivedAt) to the API pushing it to the browsers, seconds',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  })
  api.observers.pushLatency.push((s) => push.observe(s))
  const http = new Histogram({
    name: 'mytho_api_http_request_duration_seconds',
    help: 'HTTP requests by method, route template and status class, seconds',
    labelNames: ['method', 'route', 'status'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  })
  api.observers.request.push((t) => http.observe({ method: t.method, route: t.route, status: t.status }, t.seconds))
  counterFrom(registry, 'mytho_api_signins_total', 'Sign-in attempts by outcome', () => ({ ...api.signIns.outcomes }), 'outcome')
  counterFrom(
    registry,
    'mytho_api_signin_lockouts_total',
    'Times a (user name, address) pair started waiting on the sign-in throttle',
    () => api.signIns.lockouts,
  )
}
