import {
  openCredentialsFromConfig,
  openDeviceDirectoryFromConfig,
  recordOf,
  type AuditInput,
  type DeviceDirectory,
  type MetaConfig,
  type ProvisionedDevice,
  type RegistryNotice,
} from '@mytho/directory'
import { newSecret, SERVICE_ACCOUNTS, type Logger } from '@mytho/runtime'
import { DeviceRecord, type DevicePlacement, type DeviceRegistry } from '@mytho/schema'

export interface DeviceSecret {
  deviceId: string
  secret: string
}

/** What an import's checks need to know about its ids, read once for all of them. */
export interface KnownIds {
  exists(id: string): boolean
  /** Service-account names: a device by that name would replace the service's credential. */
  reserved(id: string): boolean
}

export interface Provisioning {
  readonly directory: DeviceDirectory
  /** Which of `ids` are provisioned devices or reserved names, as the metadata store says now. */
  known(ids: readonly string[]): Promise<KnownIds>
  /**
   * Records and credentials for checked records; returns each new secret (shown once). An id another admin
   * took since the check (on any node) is left out: its record and secret stay theirs.
   */
  create(records: readonly DeviceRecord[]): Promise<DeviceSecret[]>
  rotate(id: string): Promise<DeviceSecret | undefined>
  setDisabled(id: string, disabled: boolean): Promise<ProvisionedDevice | undefined>
  /** Places a provisioned device elsewhere; undefined when there is no such device. */
  move(id: string, place: DevicePlacement): Promise<ProvisionedDevice | undefined>
  /** Whether the device's readings go into the open-data export (issue #22); undefined when there is no such device. */
  setPublic(id: string, isPublic: boolean): Promise<ProvisionedDevice | undefined>
  audit(entry: AuditInput, now: number): Promise<void> | void
  close(): Promise<void>
}

export interface ProvisioningDeps {
  logger: Logger
  /** Tells the broker (registry notice on MQTT); false when it could not be sent: the broker then acts at the device's next CONNECT. */
  notify: (n: RegistryNotice) => Promise<boolean>
  audit: (entry: AuditInput, now: number) => Promise<void> | void
}

/** scrypt runs on libuv's pool (4 threads by default); a few at a time keeps the API answering during an import. */
const HASH_CONCURRENCY = 4

/**
 * The API's side of device provisioning, on the metadata store the broker authenticates against
 * (DATA_DIR/meta.sqlite, or Redis on a cluster): device records in the device directory, secrets as
 * scrypt hashes in the credential store. The store is written first, then the broker is told, so a lost
 * notice only delays the drop of a live connection; no login with a disabled or old secret gets through,
 * on any broker node (each reads the credential row at every CONNECT).
 */
export async function openProvisioning(where: MetaConfig, registry: DeviceRegistry, deps: ProvisioningDeps): Promise<Provisioning> {
  const credentials = openCredentialsFromConfig(where, { logger: deps.logger })
  const directory = openDeviceDirectoryFromConfig(where, { logger: deps.logger })
  const close = async () => {
    await directory.close()
    await credentials.close()
  }
  try {
    const seeded = await directory.seedIfEmpty(registry.devices)
    if (seeded > 0) deps.logger.info('device directory seeded from the registry file', { devices: seeded })
  } catch (err) {
    await close()
    throw err
  }
  const services = new Set<string>(Object.values(SERVICE_ACCOUNTS))
  const tell = async (n: RegistryNotice) => {
    if (!(await deps.notify(n).catch(() => false))) deps.logger.warn('registry notice not delivered; the broker applies the change at the next CONNECT', n)
  }
  const isDevice = async (id: string) => (await directory.get(id)) !== undefined || (await credentials.roleOf(id)) === 'device'

  return {
    directory,

    async known(ids) {
      const unique = [...new Set(ids)]
      const [devices, roles] = await Promise.all([Promise.all(unique.map((id) => directory.get(id))), Promise.all(unique.map((id) => credentials.roleOf(id)))])
      const exists = new Set(unique.filter((_, i) => devices[i] !== undefined || roles[i] === 'device'))
      const reserved = new Set(unique.filter((id, i) => services.has(id) || roles[i] === 'service'))
      return { exists: (id) => exists.has(id), reserved: (id) => reserved.has(id) }
    },

    async create(records) {
      const out: DeviceSecret[] = []
      for (let i = 0; i < records.length; i += HASH_CONCURRENCY) {
        const chunk = records.slice(i, i + HASH_CONCURRENCY)
        const made = await Promise.all(
          chunk.map(async (record) => {
            // The record first, if absent: of two admins creating one id at once, one gets it, and only they set its secret.
            if (!(await directory.insert(record))) return undefined
            const secret = newSecret()
            await credentials.setSecret(record.id, 'device', secret)
            return { deviceId: record.id, secret }
          }),
        )
        for (const m of made) if (m) out.push(m)
      }
      await Promise.all(out.map((d) => tell({ op: 'created', deviceId: d.deviceId })))
      return out
    },

    async rotate(id) {
      if (!(await isDevice(id))) return undefined
      const secret = newSecret()
      await credentials.setSecret(id, 'device', secret)
      await tell({ op: 'rotated', deviceId: id })
      return { deviceId: id, secret }
    },

    async setDisabled(id, disabled) {
      if (!(await directory.get(id))) return undefined
      await credentials.setDisabled(id, disabled)
      await tell({ op: disabled ? 'disabled' : 'enabled', deviceId: id })
      return directory.get(id)
    },

    async move(id, place) {
      const device = await directory.get(id)
      if (!device) return undefined
      if (!(await directory.update(DeviceRecord.parse({ ...recordOf(device), ...place })))) return undefined
      await tell({ op: 'moved', deviceId: id })
      return directory.get(id)
    },

    async setPublic(id, isPublic) {
      const device = await directory.get(id)
      if (!device) return undefined
      if (!(await directory.update(DeviceRecord.parse({ ...recordOf(device), public: isPublic })))) return undefined
      await tell({ op: 'published', deviceId: id })
      return directory.get(id)
    },

    audit: deps.audit,
    close,
  }
}
