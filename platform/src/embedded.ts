import { createBroker, loadBrokerConfig, checkTlsPair, type Broker, type BrokerAddresses, type BrokerConfig } from '@mytho/broker'
import { createIngest, loadIngestConfig, type Ingest, type IngestConfig } from '@mytho/ingest'
import { ConfigError, once, type Logger } from '@mytho/runtime'
import { readingsTopic, type DeviceRegistry } from '@mytho/schema'
import type { ReadingStore } from '@mytho/storage'

/*
 * Broker and ingest in one process, for a single-machine deployment (README: "Broker and ingest in one process").
 * The ingest takes device messages from an in-process Aedes subscription (its `inProcess` option) and the broker
 * waits for it (its `pubackAfterInProcessHandlers` option), so a device's QoS 1 PUBACK goes out once its reading is
 * stored or spooled: the broker keeps no queue for the ingest, and the broker → ingest hop (queue write, PUBLISH,
 * PUBACK, parsing again) is gone. Devices still connect, authenticate and are authorized exactly as before: the
 * in-process subscription sees only what the broker accepted.
 */

export interface EmbeddedConfig {
  broker: BrokerConfig
  ingest: IngestConfig
}

/**
 * Both services' variables from one environment; one ConfigError names every bad one. `apart`: how this composer
 * runs them apart instead, named when a cluster's variable is refused (npm start: MYTHO_TOPOLOGY).
 */
export function loadEmbeddedConfig(env: Record<string, string | undefined> = process.env, apart?: { variable: string; hint: string }): EmbeddedConfig {
  const problems: string[] = []
  const attempt = <T>(load: () => T): T | undefined => {
    try {
      return load()
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      problems.push(...err.message.split('\n').slice(1))
      return undefined
    }
  }
  const broker = attempt(() => loadBrokerConfig(env))
  const ingest = attempt(() => loadIngestConfig(env))
  if (broker) {
    try {
      checkTlsPair(broker)
    } catch (err) {
      problems.push(`  MQTT_TLS_CERT: ${(err as Error).message}`)
    }
  }
  // A cluster's emitter does not wait for in-process handlers, and partitions exist to spread one stream over machines.
  // Read raw too, so they are named even when another variable already failed to parse.
  const given = (k: string) => (env[k]?.trim() ?? '') !== ''
  // REDIS_URL_FILE too (compose hands secrets/redis_url to every node; filled, this node belongs to a cluster).
  const clusterOnly: string[] = []
  if (given('REDIS_URL') || broker?.REDIS_URL !== undefined || ingest?.REDIS_URL !== undefined)
    clusterOnly.push('  REDIS_URL: the embedded ingest runs broker and ingest on one machine; unset it (a cluster runs them apart)')
  if (given('INGEST_PARTITIONS') && Number(env['INGEST_PARTITIONS']) !== 0)
    clusterOnly.push('  INGEST_PARTITIONS: the embedded ingest is one worker; set 0 or unset')
  problems.push(...clusterOnly)
  if (apart && clusterOnly.length > 0) problems.push(`  ${apart.variable}: ${apart.hint}`)
  if (problems.length > 0 || !broker || !ingest) throw new ConfigError(`invalid environment:\n${problems.join('\n')}`)
  return { broker, ingest }
}

export interface EmbeddedDeps {
  store: ReadingStore
  /** The ingest's registry (the provisioned devices); the broker reads its own as it does alone. */
  registry: DeviceRegistry
  /** The broker's, when the composer shares one (npm start: one registry for broker, ingest and API). */
  brokerRegistry?: DeviceRegistry
  /** Re-reads the directory into `registry` before a dead-letter re-drive (IngestDeps.resyncRegistry). */
  resyncRegistry?: () => Promise<void>
  logger: Logger
  clock?: () => number
}

export interface EmbeddedPipeline {
  readonly broker: Broker
  readonly ingest: Ingest
  /** Subscribes the ingest, then listens: no device is acknowledged before the ingest takes its messages. */
  start(): Promise<BrokerAddresses>
  /** Stores and acknowledges what the ingest holds, then closes the broker; safe twice. The store is the caller's. */
  stop(): Promise<void>
}

export async function createEmbeddedPipeline(config: EmbeddedConfig, deps: EmbeddedDeps): Promise<EmbeddedPipeline> {
  const log = deps.logger
  const broker = await createBroker(config.broker, {
    logger: log.child({ part: 'broker' }),
    ...(deps.brokerRegistry ? { registry: deps.brokerRegistry } : {}),
    pubackAfterInProcessHandlers: true,
    ...(deps.clock ? { clock: deps.clock } : {}),
  })
  const ingest = createIngest(config.ingest, {
    store: deps.store,
    registry: deps.registry,
    ...(deps.resyncRegistry ? { resyncRegistry: deps.resyncRegistry } : {}),
    logger: log.child({ part: 'ingest' }),
    ...(deps.clock ? { clock: deps.clock } : {}),
    // The broker's own subscribe for in-process handlers: a reading only the ingest receives goes to it straight.
    inProcess: {
      get closed() {
        return broker.aedes.closed
      },
      subscribe: broker.inProcess!.subscribe,
      publish: (packet, callback) => broker.aedes.publish(packet, callback),
    },
  })

  // A persistent subscriber of device readings (the separate ingest of an earlier run on this DATA_DIR) still gets a
  // queue of every reading, acknowledged to devices long ago: run that ingest once to store it, then remove it.
  const warnOfQueues = async () => {
    const persistence = (broker.aedes as unknown as { persistence: { subscriptionsByTopic(t: string): Promise<{ clientId: string; qos: number }[]> } })
      .persistence
    const subs = await persistence.subscriptionsByTopic(readingsTopic('any-device')).catch(() => [])
    const queued = subs.filter((s) => s.qos > 0).map((s) => s.clientId)
    if (queued.length > 0)
      log.warn('persistent sessions still queue every device reading on this broker; drain them with their own ingest', { clientIds: queued })
  }

  return {
    broker,
    ingest,
    async start() {
      await ingest.start()
      await warnOfQueues()
      return broker.start()
    },
    stop: once(async () => {
      // The ingest's in-process session publishes its Last Will (health: down) as it stops, before the broker closes.
      await ingest.stop()
      await broker.stop()
    }),
  }
}
