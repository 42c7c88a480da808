import { counterFrom, gaugeFrom, type Registry } from '@mytho/runtime'
import type { Broker } from './broker.ts'

/** What an on-call engineer watches on the broker: who is connected and what it refused, and why. */
export function registerBrokerMetrics(registry: Registry, broker: Broker): void {
  gaugeFrom(registry, 'mytho_mqtt_connected_clients', 'MQTT clients connected now (devices and services)', () => broker.aedes.connectedClients)
  counterFrom(registry, 'mytho_mqtt_connections_refused_total', 'Connections refused, by reason', () => ({ ...broker.stats.connectionsRefused }), 'reason')
  counterFrom(
    registry,
    'mytho_mqtt_packets_refused_total',
    'Packets refused on open connections, by reason',
    () => ({ ...broker.stats.packetsRefused }),
    'reason',
  )
  counterFrom(registry, 'mytho_mqtt_receive_time_stamped_total', 'Publishes whose readings got the broker receive time (no ts)', () => broker.stats.stamped)
}
