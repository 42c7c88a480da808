import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { expect, onTestFinished } from 'vitest'
import { createBroker, loadBrokerConfig } from '@mytho/broker'
import { openCredentialStore, openDeviceDirectory, openProvisionedRegistryFromConfig } from '@mytho/directory'
import { createIngest, loadIngestConfig, type Ingest } from '@mytho/ingest'
import { silentLogger } from '@mytho/runtime'
import { DeviceRecord, loadRegistryFile } from '@mytho/schema'
import { createSqliteStore, StorageError, type ReadingStore } from '@mytho/storage'
import { connectDevice, makeTempDir } from '@mytho/testing'
import type { ApiOptions } from '../src/api.ts'
import { startSecuredApi } from './auth-harness.ts'

export const gauge = {
  id: 'wl-rach-gam-02',
  kind: 'water_level',
  nameVi: 'Đo mực nước rạch Gầm 2',
  nameEn: 'Water level Rach Gam 2',
  lat: 10.36,
  lon: 106.36,
  ward: 'my-tho',
  intervalS: 300,
  batteryPowered: true,
  waterBody: 'canal',
  locationConfidence: 'C',
}

const WRITES = new Set<PropertyKey>(['writeReadings', 'writeDeadLetters', 'deleteDeadLetters', 'rollUp'])

/**
 * The API's store as a read-only credential leaves it: every write refused (SQLite has no read-only user to give the
 * API). `writesTried` says whether anything tried.
 */
export function readOnly(store: ReadingStore): ReadingStore & { writesTried: string[] } {
  const writesTried: string[] = []
  return new Proxy(store as ReadingStore & { writesTried: string[] }, {
    get(target, key) {
      if (key === 'writesTried') return writesTried
      if (WRITES.has(key))
        return async () => {
          writesTried.push(String(key))
          throw new StorageError(`${String(key)}: this credential may only read`, { retryable: false })
        }
      const v = Reflect.get(target, key) as unknown
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
}

/**
 * A real broker on port 0, the ingest (the writer) over the provisioned registry of the data folder, and the API with
 * sign-in and a store that may only read. A device with a credential but no registry record (installed before its
 * record was entered) is let in by the broker, which reads only the credential rows, and its readings are
 * dead-lettered as unknown_device; entering its record in the device directory (what POST /admin/devices writes beside
 * the secret) provisions it: the case re-drive is for.
 */
export async function redrivePlatform(
  o: {
    ingestStore?: (dataDir: string) => ReadingStore
    apiStore?: (dataDir: string) => ReadingStore
    api?: Partial<ApiOptions>
    /** Ingest workers sharing the stream (INGEST_PARTITIONS = workers, leases in this Redis); default one ingest alone. */
    cluster?: { workers: number; redisUrl: string }
  } = {},
) {
  const tmp = makeTempDir('mytho-api-redrive-')
  onTestFinished(() => tmp.cleanup())
  const broker = await createBroker(
    loadBrokerConfig({ DATA_DIR: tmp.path, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_WS_PORT: 'off', MQTT_PERSISTENCE: 'memory' }),
    { logger: silentLogger },
  )
  const { mqttPort } = await broker.start()
  onTestFinished(() => broker.stop())
  const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`

  const ingestStore = o.ingestStore?.(tmp.path) ?? createSqliteStore({ path: join(tmp.path, 'readings.sqlite') })
  const provisioned = await openProvisionedRegistryFromConfig({ DATA_DIR: tmp.path }, loadRegistryFile())
  onTestFinished(async () => {
    await ingestStore.close()
    await provisioned.close()
  })
  const workers = o.cluster?.workers ?? 1
  const ingests: Ingest[] = []
  for (let i = 0; i < workers; i++) {
    const env = o.cluster
      ? {
          INGEST_PARTITIONS: String(workers),
          REDIS_URL: o.cluster.redisUrl,
          INGEST_LEASE_TTL_MS: '1500',
          INGEST_WORKER_ID: `worker-${i}`,
          ALERTS_ENABLED: 'false',
        }
      : {}
    const ingest = createIngest(loadIngestConfig({ MQTT_URL: mqttUrl, DATA_DIR: tmp.path, INGEST_BATCH_WAIT_MS: '10', ...env }), {
      store: ingestStore,
      registry: provisioned.registry,
      resyncRegistry: provisioned.resync,
      logger: silentLogger,
    })
    await ingest.start()
    onTestFinished(() => ingest.stop())
    ingests.push(ingest)
  }
  const ingest = ingests[0]!

  const apiStore = readOnly(o.apiStore?.(tmp.path) ?? createSqliteStore({ path: join(tmp.path, 'readings.sqlite') }))
  const api = await startSecuredApi({ MQTT_URL: mqttUrl, ...o.api }, tmp.path, silentLogger, undefined, apiStore)

  const credentials = openCredentialStore(tmp.path)
  const directory = openDeviceDirectory(tmp.path)
  onTestFinished(async () => {
    await credentials.close()
    await directory.close()
  })
  /** Connects a device that has a secret but no record. */
  const unknownDevice = async (id: string) => {
    const secret = randomBytes(24).toString('base64url')
    await credentials.setSecret(id, 'device', secret)
    const c = await connectDevice(mqttUrl, id, secret)
    onTestFinished(() => c.endAsync(true))
    return c
  }
  const provision = async (record: unknown) => expect(await directory.insert(DeviceRecord.parse(record))).toBe(true)
  return { api, apiStore, ingest, ingests, ingestStore, mqttUrl, unknownDevice, provision }
}
