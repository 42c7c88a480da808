import { openCredentialStore, openDeviceDirectory, type CredentialStore, type DeviceDirectory, type ProvisionedDevice, type RegistryNotice } from '@mytho/broker'
import { newSecret, SERVICE_ACCOUNTS, type Logger } from '@mytho/runtime'
import type { DeviceRecord, DeviceRegistry } from '@mytho/schema'
import type { AuditInput } from './auth/operator-store.ts'

export interface DeviceSecret {
  deviceId: string
  secret: string
}

export interface Provisioning {
  readonly directory: DeviceDirectory
  exists(id: string): boolean
  /** Service-account names: a device by that name would replace the service's credential. */
  reserved(id: string): boolean
  /** Records and credentials for checked records; returns each new secret (shown once). */
  create(records: readonly DeviceRecord[]): Promise<DeviceSecret[]>
  rotate(id: string): Promise<DeviceSecret | undefined>
  setDisabled(id: string, disabled: boolean): Promise<ProvisionedDevice | undefined>
  audit(entry: AuditInput, now: number): void
  close(): void
}

export interface ProvisioningDeps {
  logger: Logger
  /** Tells the broker (registry notice on MQTT); false when it could not be sent: the broker then acts at the device's next CONNECT. */
  notify: (n: RegistryNotice) => Promise<boolean>
  audit: (entry: AuditInput, now: number) => void
}

/** scrypt runs on libuv's pool (4 threads by default); a few at a time keeps the API answering during an import. */
const HASH_CONCURRENCY = 4

/**
 * The API's side of device provisioning, on the metadata store the broker authenticates against
 * (DATA_DIR/meta.sqlite): device records in the device directory, secrets as scrypt hashes in the
 * credential table. The store is written first, then the broker is told, so a lost notice only
 * delays the drop of a live connection; no login with a disabled or old secret gets through.
 */
export function openProvisioning(dataDir: string, registry: DeviceRegistry, deps: ProvisioningDeps): Provisioning {
  const credentials: CredentialStore = openCredentialStore(dataDir)
  const directory = openDeviceDirectory(dataDir)
  const seeded = directory.seedIfEmpty(registry.devices)
  if (seeded > 0) deps.logger.info('device directory seeded from the registry file', { devices: seeded })
  const services = new Set<string>(Object.values(SERVICE_ACCOUNTS))
  const tell = async (n: RegistryNotice) => {
    if (!(await deps.notify(n).catch(() => false))) deps.logger.warn('registry notice not delivered; the broker applies the change at the next CONNECT', n)
  }

  return {
    directory,
    exists: (id) => directory.get(id) !== undefined || credentials.roleOf(id) === 'device',
    reserved: (id) => services.has(id) || credentials.roleOf(id) === 'service',

    async create(records) {
      const out: DeviceSecret[] = []
      for (let i = 0; i < records.length; i += HASH_CONCURRENCY) {
        const chunk = records.slice(i, i + HASH_CONCURRENCY)
        out.push(
          ...(await Promise.all(
            chunk.map(async (record) => {
              const secret = newSecret()
              await credentials.setSecret(record.id, 'device', secret)
              directory.insert(record)
              return { deviceId: record.id, secret }
            }),
          )),
        )
      }
      await Promise.all(out.map((d) => tell({ op: 'created', deviceId: d.deviceId })))
      return out
    },

    async rotate(id) {
      if (!directory.get(id) && credentials.roleOf(id) !== 'device') return undefined
      const secret = newSecret()
      await credentials.setSecret(id, 'device', secret)
      await tell({ op: 'rotated', deviceId: id })
      return { deviceId: id, secret }
    },

    async setDisabled(id, disabled) {
      const device = directory.get(id)
      if (!device) return undefined
      credentials.setDisabled(id, disabled)
      await tell({ op: disabled ? 'disabled' : 'enabled', deviceId: id })
      return directory.get(id)
    },

    audit: deps.audit,

    close() {
      directory.close()
      credentials.close()
    },
  }
}
