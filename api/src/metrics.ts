import { counterFrom, gaugeFrom, type Registry } from '@mytho/runtime'
import type { Api } from './api.ts'

/** Browsers connected, what the live push sends, and whether the API's own feed is up. */
export function registerApiMetrics(registry: Registry, api: Api): void {
  gaugeFrom(registry, 'mytho_socketio_clients', 'Socket.IO clients (map browsers) connected', () => api.push?.io.engine.clientsCount ?? 0)
  gaugeFrom(registry, 'mytho_api_feed_connected', '1 while the API receives the live stream from the broker', () => (api.feed?.connected ? 1 : 0))
  counterFrom(registry, 'mytho_live_updates_sent_total', 'Device updates pushed to browsers', () => api.push?.stats.updatesSent ?? 0)
  counterFrom(registry, 'mytho_live_batches_total', 'Live push batches flushed', () => api.push?.stats.batches ?? 0)
  counterFrom(registry, 'mytho_api_feed_bad_messages_total', 'Platform messages the API could not parse', () => api.feed?.stats.bad ?? 0)
}
