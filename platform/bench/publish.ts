/*
 * The bench's devices: one MQTT.js connection per device, QoS 1, at most WINDOW unacknowledged publishes per
 * connection, readings with distinct (device, ts) keys. Shared by our pipeline and the reference brokers so
 * every broker sees the same topics, payloads and in-flight window.
 */
import type { MqttClient } from 'mqtt'
import { loadRegistryFile, readingsTopic } from '@mytho/schema'

export const WINDOW = 200 // unacknowledged publishes per connection

export function body(kind: string, ts: number): object {
  switch (kind) {
    case 'traffic':
      return { kind, ts, intervalS: 60, vehicleCount: 42, motorbikeCount: 36, avgSpeedKmh: 31.5, occupancyPct: 12.5 }
    case 'water_level':
      return { kind, ts, waterLevelCm: 120 + (ts % 60), batteryV: 12.7 }
    case 'rain':
      return { kind, ts, rainMm: 0.4 }
    case 'salinity':
      return { kind, ts, salinityGL: 0.31 }
    default:
      return { kind, ts, pm25UgM3: 27.5 }
  }
}

/** Publishes `n` readings spread over the clients, `perMessage` per message; resolves with the readings sent once all are acknowledged. */
export async function publishAll(clients: { id: string; client: MqttClient }[], n: number, perMessage: number, runStart: number): Promise<number> {
  const perDevice = Math.ceil(n / clients.length)
  const registry = loadRegistryFile()
  let sent = 0
  await Promise.all(
    clients.map(async ({ id, client }, ci) => {
      const device = registry.get(id)!
      let inflight = 0
      let i = 0
      const count = Math.min(perDevice, n - ci * perDevice)
      await new Promise<void>((resolve, reject) => {
        const pump = () => {
          while (inflight < WINDOW && i < count) {
            const batch: object[] = []
            for (let k = 0; k < perMessage && i < count; k++, i++) batch.push(body(device.kind, runStart - count + i))
            inflight++
            sent += batch.length
            client.publish(readingsTopic(id), JSON.stringify(perMessage === 1 ? batch[0] : batch), { qos: 1 }, (err) => {
              if (err) return reject(err)
              inflight--
              if (i >= count && inflight === 0) resolve()
              else pump()
            })
          }
          if (count <= 0) resolve()
        }
        pump()
      })
    }),
  )
  return sent
}
