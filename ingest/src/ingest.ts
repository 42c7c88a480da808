import {
  ALL_READINGS_FILTER,
  ALL_STATUS_FILTER,
  PLATFORM_HEALTH_TOPIC,
  PLATFORM_INCIDENTS_TOPIC,
  PLATFORM_READINGS_CHUNK,
  PLATFORM_READINGS_TOPIC,
  REDRIVE_ORDER_TOPIC,
  type DeviceRegistry,
  type StoredReading,
} from '@mytho/schema'
import { once, servicePassword, type Logger } from '@mytho/runtime'
import type { ReadingStore } from '@mytho/storage'
import { hostname } from 'node:os'
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { createAlerting, type AlertingOptions } from './alerting.ts'
import { createBatchWriter } from './batch-writer.ts'
import type { IngestConfig } from './config.ts'
import { createHealth, downHealth } from './health.ts'
import { createHealthPublisher } from './health-publisher.ts'
import { createInProcessSession, type InProcessBroker } from './in-process-session.ts'
import { createMessageHandler } from './message-handler.ts'
import { createMqttSession, type IncomingMessage } from './mqtt-session.ts'
import { createOrphanSpoolDrainer } from './orphan-spools.ts'
import { ownedDevicesView } from './owned-registry.ts'
import { createRedriver } from './redrive.ts'
import { partitionAlertMover } from './partition-alerts.ts'
import { createPartitionSessions, type IngestSession } from './partition-sessions.ts'
import { sessionPort } from './session-port.ts'
import { openSpool } from './spool.ts'

export interface IngestDeps {
  store: ReadingStore
  registry: DeviceRegistry
  logger: Logger
  clock?: () => number
  /**
   * A broker in this process to take device messages from, in place of an MQTT connection (in-process-session.ts):
   * each is acknowledged to its device once stored or spooled, and the broker keeps no queue for the ingest.
   * MQTT_URL is then unused. Default: an MQTT session to MQTT_URL (or the partition sessions with INGEST_PARTITIONS > 0).
   */
  inProcess?: InProcessBroker
  /**
   * Re-reads the device directory into `registry` (openProvisionedRegistryFromConfig's resync): called before a
   * dead-letter re-drive, so a device provisioned a moment ago is known. Without it the registry is used as it is.
   */
  resyncRegistry?: () => Promise<void>
}

export type IngestOptions = Pick<
  IngestConfig,
  | 'MQTT_URL'
  | 'INGEST_MQTT_USERNAME'
  | 'INGEST_MQTT_PASSWORD'
  | 'INGEST_CLIENT_ID'
  | 'INGEST_BATCH_MAX'
  | 'INGEST_BATCH_WAIT_MS'
  | 'INGEST_MAX_PAYLOAD_BYTES'
  | 'INGEST_MAX_INFLIGHT'
  | 'DATA_DIR'
> &
  Partial<Pick<IngestConfig, 'ALERTS_ENABLED' | 'INGEST_SPOOL_MAX_READINGS' | 'INGEST_HEALTH_INTERVAL_MS'>> &
  Partial<Pick<IngestConfig, 'INGEST_PARTITIONS' | 'REDIS_URL' | 'INGEST_LEASE_TTL_MS' | 'INGEST_WORKER_ID'>> &
  Partial<Omit<AlertingOptions, 'DATA_DIR'>>

/**
 * The ingest worker: subscribes with a persistent session, validates every message against the
 * contract and the registry, writes readings and dead letters in batches, and acknowledges each
 * message only once what it produced is durably stored.
 */
export function createIngest(config: IngestOptions, deps: IngestDeps) {
  const clock = deps.clock ?? Date.now
  const log = deps.logger
  // Several workers sharing the stream (partition-sessions.ts): each its own name, spool file and health.
  const partitions = config.INGEST_PARTITIONS ?? 0
  if (deps.inProcess && partitions > 0) throw new Error('an in-process ingest takes no INGEST_PARTITIONS (one worker, one broker)')
  const workerId = config.INGEST_WORKER_ID ?? `${hostname()}-${randomUUID().slice(0, 8)}`
  const healthId = partitions > 0 ? workerId : config.INGEST_CLIENT_ID
  const spoolCapacity = config.INGEST_SPOOL_MAX_READINGS ?? 0
  const leaseTtlMs = config.INGEST_LEASE_TTL_MS ?? 10_000

  // What goes out on the session (built last, below) goes through this port until it is attached.
  const port = sessionPort(partitions)

  const alerting =
    config.ALERTS_ENABLED === false
      ? undefined
      : createAlerting(
          { ALERT_TICK_MS: 5000, NOTIFY_LANGUAGE: 'vi', ...config },
          {
            // A partitioned worker judges silence only for the devices it owns (owned-registry.ts).
            registry: partitions > 0 ? ownedDevicesView(deps.registry, port.owns) : deps.registry,
            logger: log,
            clock,
            announce: (change) => port.publish(PLATFORM_INCIDENTS_TOPIC, JSON.stringify(change)),
            ...(partitions > 0 ? { owns: port.owns, fence: port.fence } : {}),
          },
        )
  const settled = alerting?.deferAcks ? { settled: () => alerting.settled() } : {}
  // Only what is durably stored is announced and judged, so the map never shows a reading history will not have.
  const announce = (readings: readonly StoredReading[]) => {
    for (let i = 0; i < readings.length; i += PLATFORM_READINGS_CHUNK)
      port.publish(PLATFORM_READINGS_TOPIC, JSON.stringify(readings.slice(i, i + PLATFORM_READINGS_CHUNK)))
    alerting?.onStored(readings)
  }

  // It may hold a previous run's batches (drained from start()); closed at stop().
  const spool =
    spoolCapacity > 0
      ? openSpool({ path: join(config.DATA_DIR, partitions > 0 ? `spool-${workerId}.sqlite` : 'spool.sqlite'), maxItems: spoolCapacity, clock })
      : undefined
  const writer = createBatchWriter(
    deps.store,
    {
      maxReadings: config.INGEST_BATCH_MAX,
      maxWaitMs: config.INGEST_BATCH_WAIT_MS,
      onStored: announce,
      ...settled,
      ...(spool ? { spool } : {}),
      onBackpressure: port.backpressure,
      clock,
    },
    log,
  )
  // The API asks, the writer re-drives (redrive.ts); with partitions the device's owner alone acts.
  const redriver = createRedriver({
    store: deps.store,
    registry: deps.registry,
    resyncRegistry: deps.resyncRegistry,
    ...(partitions > 0 ? { owns: port.owns } : {}),
    publish: (topic, payload) => port.publish(topic, payload),
    clock,
    logger: log.child({ part: 'redrive' }),
  })
  const handler = createMessageHandler({
    registry: deps.registry,
    writer,
    alerting,
    limits: { maxPayloadBytes: config.INGEST_MAX_PAYLOAD_BYTES, maxReadingsPerMessage: 500, futureToleranceMs: 5 * 60_000 },
    clock,
    logger: log,
  })

  const onMessage = (msg: IncomingMessage): void => (msg.topic === REDRIVE_ORDER_TOPIC ? redriver.onOrder(msg) : handler.onMessage(msg))

  const sessionOptions = {
    url: config.MQTT_URL,
    username: config.INGEST_MQTT_USERNAME,
    password: () => servicePassword(config.DATA_DIR, 'ingest', config.INGEST_MQTT_PASSWORD),
    subscriptions: alerting ? [ALL_READINGS_FILTER, ALL_STATUS_FILTER, REDRIVE_ORDER_TOPIC] : [ALL_READINGS_FILTER, REDRIVE_ORDER_TOPIC],
    maxInflight: config.INGEST_MAX_INFLIGHT,
  }
  // Its `at` is the connect time of this process, not the death: readers use the retained message's arrival.
  const will = () => ({ topic: PLATFORM_HEALTH_TOPIC, payload: JSON.stringify(downHealth(config.INGEST_CLIENT_ID, spoolCapacity, clock())), retain: true })
  const partitioned =
    partitions > 0
      ? createPartitionSessions(
          // No Last Will per partition session: one worker's death is not the ingest's (the others announce their health).
          { ...sessionOptions, clientIdPrefix: config.INGEST_CLIENT_ID, partitions, redisUrl: config.REDIS_URL!, leaseTtlMs, workerId },
          onMessage,
          log.child({ part: 'mqtt', worker: workerId }),
          {
            // The alert state goes with the partition: committed (mean windows too) before its lease is given up.
            flush: async () => {
              await writer.flush()
              await alerting?.beforeHandOver()
            },
            onPartition: partitionAlertMover({ alerting, registry: deps.registry, store: deps.store, partitions, logger: log }),
          },
        )
      : undefined
  const session: IngestSession =
    partitioned ??
    (deps.inProcess
      ? createInProcessSession(
          deps.inProcess,
          { subscriptions: sessionOptions.subscriptions, maxInflight: config.INGEST_MAX_INFLIGHT, will },
          onMessage,
          log.child({ part: 'ingest-session' }),
        )
      : createMqttSession({ ...sessionOptions, clientId: config.INGEST_CLIENT_ID, will: will() }, onMessage, log.child({ part: 'mqtt' })))
  // A dead worker's spool (acknowledged readings storage did not have yet) is drained by a live one.
  const orphanSpools = partitioned
    ? createOrphanSpoolDrainer(
        { dataDir: config.DATA_DIR, workerId, everyMs: leaseTtlMs, maxReadings: config.INGEST_BATCH_MAX },
        { leases: partitioned.leases, store: deps.store, logger: log, onStored: announce, ...settled, clock },
      )
    : undefined

  const health = createHealth({ clientId: healthId, writer, session, spool, spoolCapacity }, clock)
  const healthOut = createHealthPublisher(health, (topic, payload, retain) => session.publish(topic, payload, retain), config.INGEST_HEALTH_INTERVAL_MS ?? 5000)
  port.attach({ session, partitioned, onBackpressure: healthOut.publishNow })

  return {
    counters: handler.counters,
    /** Re-drive orders taken, answered, failed and left. */
    redrives: redriver.stats,
    writer: writer.stats,
    /** The latest announced pipeline health, and a fresh one. */
    get health() {
      return healthOut.last
    },
    healthNow: () => health.snapshot().health,
    /** What storage could set up of what it was asked (retention, roll-ups), with warnings; undefined when it does not say. */
    storageStatus: () => deps.store.status?.(),
    spool,
    mqtt: session.stats,
    get connected() {
      return session.connected
    },
    incidents: alerting?.store,
    /** The ingest's clock (metrics age incidents by it). */
    clock,
    /** With INGEST_PARTITIONS > 0: this worker's partition sessions and leases. */
    partitions: partitioned,
    async start(): Promise<{ subscribed: true }> {
      await deps.store.init()
      await alerting?.start(await deps.store.latest())
      writer.start() // what a previous run left in the spool goes first
      await session.start()
      orphanSpools?.start()
      healthOut.start()
      return { subscribed: true }
    },
    /** Graceful: stop reading, store and acknowledge what is in hand, then disconnect. */
    stop: once(async () => {
      healthOut.stop()
      await orphanSpools?.stop()
      session.pause()
      await Promise.race([Promise.all([writer.flush(), redriver.settled()]), new Promise((r) => setTimeout(r, 10_000).unref())])
      await writer.close()
      // Acknowledgements waiting for the alert state's commit go out before the sessions close.
      await Promise.race([alerting?.settled(), new Promise((r) => setTimeout(r, 10_000).unref())])
      await session.stop()
      spool?.close()
      await alerting?.stop()
    }),
  }
}
export type Ingest = ReturnType<typeof createIngest>
