import {
  ALL_READINGS_FILTER,
  ALL_STATUS_FILTER,
  parseDeviceTopic,
  partitionOf,
  PLATFORM_HEALTH_TOPIC,
  PLATFORM_INCIDENTS_TOPIC,
  PLATFORM_READINGS_CHUNK,
  PLATFORM_READINGS_TOPIC,
  type DeviceRegistry,
  type RejectReason,
  type StoredReading,
} from '@mytho/schema'
import { once, servicePassword, type Logger } from '@mytho/runtime'
import type { ReadingStore } from '@mytho/storage'
import { createAlerting, type AlertingOptions } from './alerting.ts'
import { join } from 'node:path'
import { createBatchWriter } from './batch-writer.ts'
import type { IngestConfig } from './config.ts'
import { createHealth, downHealth } from './health.ts'
import { createInProcessSession, type InProcessBroker } from './in-process-session.ts'
import { createMqttSession, type IncomingMessage } from './mqtt-session.ts'
import { createPartitionSessions, type IngestSession } from './partition-sessions.ts'
import { createOrphanSpoolDrainer } from './orphan-spools.ts'
import { ownedDevicesView } from './owned-registry.ts'
import { hostname } from 'node:os'
import { randomUUID } from 'node:crypto'
import { openSpool } from './spool.ts'
import { validateMessage } from './validate-message.ts'

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
}

export type IngestOptions = Pick<
  IngestConfig,
  'MQTT_URL' | 'INGEST_MQTT_USERNAME' | 'INGEST_MQTT_PASSWORD' | 'INGEST_CLIENT_ID' | 'INGEST_BATCH_MAX' | 'INGEST_BATCH_WAIT_MS' | 'INGEST_MAX_PAYLOAD_BYTES' | 'INGEST_MAX_INFLIGHT' | 'DATA_DIR'
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
  // A partitioned worker judges silence only for the devices it owns (owned-registry.ts); `partitioned` is set below.
  const alertRegistry: DeviceRegistry =
    partitions > 0 ? ownedDevicesView(deps.registry, (id): boolean => partitioned?.ownsPartition(partitionOf(id, partitions)) ?? false) : deps.registry
  const counters = { received: 0, accepted: 0, rejected: 0, rejectedByReason: {} as Partial<Record<RejectReason, number>> }
  const alerting =
    config.ALERTS_ENABLED === false
      ? undefined
      : createAlerting(
          { ALERT_TICK_MS: 5000, NOTIFY_LANGUAGE: 'vi', ...config },
          {
            registry: alertRegistry,
            logger: log,
            clock,
            announce: (change) => session.publish(PLATFORM_INCIDENTS_TOPIC, JSON.stringify(change)),
            ...(partitions > 0
              ? {
                  owns: (id: string): boolean => partitioned?.ownsPartition(partitionOf(id, partitions)) ?? false,
                  // The lease key as partition-leases.ts names it (README: mytho:ingest:pP:lease:N).
                  fence: (id: string): { key: string; token: string } | undefined => partitioned && { key: `mytho:ingest:p${partitions}:lease:${partitionOf(id, partitions)}`, token: partitioned.leases.token },
                }
              : {}),
          },
        )
  // With REDIS_URL the alert state of a batch is committed to Redis after the engine ran: the batch is acknowledged
  // only once it is there, as it is once in alerts.sqlite otherwise (the broker redelivers what a SIGKILL cut short).
  const ackAfterAlerts = (ack: () => void): (() => void) => (alerting?.deferAcks ? () => void alerting.settled().then(ack) : ack)
  // Only what is durably stored is announced and judged, so the map never shows a reading history will not have.
  const announce = (readings: readonly StoredReading[]) => {
    for (let i = 0; i < readings.length; i += PLATFORM_READINGS_CHUNK)
      session.publish(PLATFORM_READINGS_TOPIC, JSON.stringify(readings.slice(i, i + PLATFORM_READINGS_CHUNK)))
    alerting?.onStored(readings)
  }
  const spoolCapacity = config.INGEST_SPOOL_MAX_READINGS ?? 0
  // Opened at start() (it may hold a previous run's batches), closed at stop().
  let spool: ReturnType<typeof openSpool> | undefined
  const spoolPath = join(config.DATA_DIR, partitions > 0 ? `spool-${workerId}.sqlite` : 'spool.sqlite')
  if (spoolCapacity > 0) spool = openSpool({ path: spoolPath, maxItems: spoolCapacity })
  const writer = createBatchWriter(
    deps.store,
    {
      maxReadings: config.INGEST_BATCH_MAX,
      maxWaitMs: config.INGEST_BATCH_WAIT_MS,
      onStored: announce,
      ...(alerting?.deferAcks ? { settled: () => alerting.settled() } : {}),
      ...(spool ? { spool } : {}),
      // A full spool: stop reading, so unacknowledged messages stay with the broker instead of our memory.
      onBackpressure: (full) => {
        if (full) session.hold()
        else session.release()
        publishHealth()
      },
    },
    log,
  )
  const limits = { maxPayloadBytes: config.INGEST_MAX_PAYLOAD_BYTES, maxReadingsPerMessage: 500, futureToleranceMs: 5 * 60_000 }

  const sessionOptions = {
    url: config.MQTT_URL,
    username: config.INGEST_MQTT_USERNAME,
    password: () => servicePassword(config.DATA_DIR, 'ingest', config.INGEST_MQTT_PASSWORD),
    subscriptions: alerting ? [ALL_READINGS_FILTER, ALL_STATUS_FILTER] : [ALL_READINGS_FILTER],
    maxInflight: config.INGEST_MAX_INFLIGHT,
  }
  const onMessage = (msg: IncomingMessage) => {
    // Readings are nearly every message: their topic is parsed once, in validateMessage.
    const topic = msg.topic.endsWith('/status') ? parseDeviceTopic(msg.topic) : undefined
    if (topic?.suffix === 'status') {
      // The retained online/offline a device's Last Will sets: news for the silence rule, not a reading.
      const status = msg.payload.toString('utf8').trim()
      if (status === 'offline' || status === 'online') alerting?.onConnection(topic.deviceId, status, clock())
      ackAfterAlerts(msg.ack)()
      return
    }
    counters.received++
    const { readings, rejections } = validateMessage(msg.topic, msg.payload, clock(), deps.registry, limits)
    counters.accepted += readings.length
    for (const r of rejections) {
      counters.rejected++
      counters.rejectedByReason[r.code] = (counters.rejectedByReason[r.code] ?? 0) + 1
      log.debug('rejected', { code: r.code, deviceId: r.deviceId, topic: r.topic })
    }
    writer.add(readings, rejections, ackAfterAlerts(msg.ack))
    // No fields object: this runs for every message, and at the usual levels it is not printed.
    log.debug('received')
  }
  // Alert state moves with a partition's devices: the worker handing them over saves their holds, the one taking
  // them reads them again from the shared incident store, with their latest stored reading for the silence rule.
  const movePartitionAlerts = (index: number, event: 'acquired' | 'released' | 'lost') => {
    if (!alerting) return
    const ids = new Set(deps.registry.devices.filter((d) => partitionOf(d.id, partitions) === index).map((d) => d.id))
    if (event === 'acquired') alerting.acquire(ids)
    else alerting.release(ids, { save: event === 'released' })
    if (event === 'acquired')
      deps.store.latest().then(
        (latest) => alerting.engine.hydrate(latest.filter((r) => ids.has(r.deviceId))),
        (err: unknown) => log.warn('latest readings of a taken partition not read', { partition: index, err: (err as Error).message }),
      )
  }
  const partitioned =
    partitions > 0
      ? createPartitionSessions(
          // No Last Will per partition session: one worker's death is not the ingest's (the others announce their health).
          { ...sessionOptions, clientIdPrefix: config.INGEST_CLIENT_ID, partitions, redisUrl: config.REDIS_URL!, leaseTtlMs: config.INGEST_LEASE_TTL_MS ?? 10_000, workerId },
          onMessage,
          log.child({ part: 'mqtt', worker: workerId }),
          {
            // The alert state goes with the partition: committed (mean windows too) before its lease is given up.
            flush: async () => {
              await writer.flush()
              await alerting?.beforeHandOver()
            },
            onPartition: (i, event) => movePartitionAlerts(i, event),
          },
        )
      : undefined
  // A dead worker's spool (acknowledged readings storage did not have yet) is drained by a live one.
  const orphanSpools = partitioned
    ? createOrphanSpoolDrainer(
        { dataDir: config.DATA_DIR, workerId, everyMs: config.INGEST_LEASE_TTL_MS ?? 10_000, maxReadings: config.INGEST_BATCH_MAX },
        { leases: partitioned.leases, store: deps.store, logger: log, onStored: announce, ...(alerting?.deferAcks ? { settled: () => alerting.settled() } : {}) },
      )
    : undefined
  const session: IngestSession =
    partitioned ??
    (deps.inProcess
      ? createInProcessSession(
          deps.inProcess,
          {
            subscriptions: sessionOptions.subscriptions,
            maxInflight: config.INGEST_MAX_INFLIGHT,
            will: () => ({ topic: PLATFORM_HEALTH_TOPIC, payload: JSON.stringify(downHealth(config.INGEST_CLIENT_ID, spoolCapacity, clock())), retain: true }),
          },
          onMessage,
          log.child({ part: 'ingest-session' }),
        )
      : createMqttSession(
          {
            ...sessionOptions,
            clientId: config.INGEST_CLIENT_ID,
            // Its `at` is the connect time of this process, not the death: readers use the retained message's arrival.
            will: { topic: PLATFORM_HEALTH_TOPIC, payload: JSON.stringify(downHealth(config.INGEST_CLIENT_ID, spoolCapacity, clock())), retain: true },
          },
          onMessage,
          log.child({ part: 'mqtt' }),
        ))

  const health = createHealth({ clientId: healthId, writer, session, spool, spoolCapacity }, clock)
  let healthTimer: NodeJS.Timeout | undefined
  let lastHealth = health.snapshot().health
  function publishHealth(): void {
    const { health: h } = health.snapshot()
    lastHealth = h
    session.publish(PLATFORM_HEALTH_TOPIC, JSON.stringify(h), true)
  }
  const watchHealth = () => {
    const { changed } = health.snapshot()
    if (changed) publishHealth()
  }

  return {
    counters,
    writer: writer.stats,
    /** The latest announced pipeline health, and a fresh one. */
    get health() {
      return lastHealth
    },
    healthNow: () => health.snapshot().health,
    spool,
    mqtt: session.stats,
    get connected() {
      return session.connected
    },
    incidents: alerting?.store,
    /** With INGEST_PARTITIONS > 0: this worker's partition sessions and leases. */
    partitions: partitioned,
    async start(): Promise<{ subscribed: true }> {
      await deps.store.init()
      await alerting?.start(await deps.store.latest())
      writer.start() // what a previous run left in the spool goes first
      await session.start()
      orphanSpools?.start()
      publishHealth()
      // Status changes are checked often and announced at once; the full message goes out every interval.
      let ticks = 0
      const interval = config.INGEST_HEALTH_INTERVAL_MS ?? 5000
      const checkMs = Math.min(500, interval)
      healthTimer = setInterval(() => {
        ticks++
        if (ticks * checkMs >= interval) {
          ticks = 0
          publishHealth()
        } else watchHealth()
      }, checkMs)
      healthTimer.unref()
      return { subscribed: true }
    },
    /** Graceful: stop reading, store and acknowledge what is in hand, then disconnect. */
    stop: once(async () => {
      clearInterval(healthTimer)
      await orphanSpools?.stop()
      session.pause()
      await Promise.race([writer.flush(), new Promise((r) => setTimeout(r, 10_000).unref())])
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
