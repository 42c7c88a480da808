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
  // Embedded only. A rising `aedes` share means something else now receives device readings (an operator's
  // subscriber of every reading, a persistent session): each then costs the broker the longer path.
  const inProcess = broker.inProcess
  if (inProcess)
    counterFrom(
      registry,
      'mytho_mqtt_in_process_publishes_total',
      "Clients' QoS 1 publishes to the ingest in this process, by path: straight to it, or through Aedes's publish (the topic has another receiver)",
      () => ({ ...inProcess.stats }),
      'path',
    )
}
