import { ALL_READINGS_FILTER, PLATFORM_READINGS_CHUNK, PLATFORM_READINGS_TOPIC, type DeviceRegistry, type RejectReason, type StoredReading } from '@mytho/schema'
import { once, servicePassword, type Logger } from '@mytho/runtime'
import type { ReadingStore } from '@mytho/storage'
import { createBatchWriter } from './batch-writer.ts'
import type { IngestConfig } from './config.ts'
import { createMqttSession } from './mqtt-session.ts'
import { validateMessage } from './validate-message.ts'

export interface IngestDeps {
  store: ReadingStore
  registry: DeviceRegistry
  logger: Logger
  clock?: () => number
}

export type IngestOptions = Pick<
  IngestConfig,
  'MQTT_URL' | 'INGEST_MQTT_USERNAME' | 'INGEST_MQTT_PASSWORD' | 'INGEST_CLIENT_ID' | 'INGEST_BATCH_MAX' | 'INGEST_BATCH_WAIT_MS' | 'INGEST_MAX_PAYLOAD_BYTES' | 'INGEST_MAX_INFLIGHT' | 'DATA_DIR'
>

/**
 * The ingest worker: subscribes with a persistent session, validates every message against the
 * contract and the registry, writes readings and dead letters in batches, and acknowledges each
 * message only once what it produced is durably stored.
 */
export function createIngest(config: IngestOptions, deps: IngestDeps) {
  const clock = deps.clock ?? Date.now
  const log = deps.logger
  const counters = { received: 0, accepted: 0, rejected: 0, rejectedByReason: {} as Partial<Record<RejectReason, number>> }
  // Only what is durably stored is announced, so the map never shows a reading history will not have.
  const announce = (readings: readonly StoredReading[]) => {
    for (let i = 0; i < readings.length; i += PLATFORM_READINGS_CHUNK)
      session.publish(PLATFORM_READINGS_TOPIC, JSON.stringify(readings.slice(i, i + PLATFORM_READINGS_CHUNK)))
  }
  const writer = createBatchWriter(deps.store, { maxReadings: config.INGEST_BATCH_MAX, maxWaitMs: config.INGEST_BATCH_WAIT_MS, onStored: announce }, log)
  const limits = { maxPayloadBytes: config.INGEST_MAX_PAYLOAD_BYTES, maxReadingsPerMessage: 500, futureToleranceMs: 5 * 60_000 }

  const session = createMqttSession(
    {
      url: config.MQTT_URL,
      clientId: config.INGEST_CLIENT_ID,
      username: config.INGEST_MQTT_USERNAME,
      password: () => servicePassword(config.DATA_DIR, 'ingest', config.INGEST_MQTT_PASSWORD),
      subscriptions: [ALL_READINGS_FILTER],
      maxInflight: config.INGEST_MAX_INFLIGHT,
    },
    (msg) => {
      counters.received++
      const { readings, rejections } = validateMessage(msg.topic, msg.payload, clock(), deps.registry, limits)
      counters.accepted += readings.length
      for (const r of rejections) {
        counters.rejected++
        counters.rejectedByReason[r.code] = (counters.rejectedByReason[r.code] ?? 0) + 1
        log.debug('rejected', { code: r.code, deviceId: r.deviceId, topic: r.topic })
      }
      writer.add(readings, rejections, msg.ack)
      log.debug('received', { pending: writer.pendingCount })
    },
    log.child({ part: 'mqtt' }),
  )

  return {
    counters,
    writer: writer.stats,
    mqtt: session.stats,
    get connected() {
      return session.connected
    },
    async start(): Promise<{ subscribed: true }> {
      await deps.store.init()
      await session.start()
      return { subscribed: true }
    },
    /** Graceful: stop reading, store and acknowledge what is in hand, then disconnect. */
    stop: once(async () => {
      session.pause()
      await Promise.race([writer.flush(), new Promise((r) => setTimeout(r, 10_000).unref())])
      writer.close()
      await session.stop()
    }),
  }
}
export type Ingest = ReturnType<typeof createIngest>
