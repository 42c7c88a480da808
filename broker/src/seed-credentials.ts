import type { CredentialStore } from '@mytho/directory'
import { ensureDemoSecrets, SERVICE_ACCOUNTS, type Logger } from '@mytho/runtime'
import type { DeviceRegistry } from '@mytho/schema'

export interface SeedOptions {
  dataDir: string
  /** Give every registry device and service account without a credential a generated demo secret. */
  seedDemoSecrets: boolean
  /** Service passwords from the environment: their hashes are (re)written at every start. */
  ingestPassword: string | undefined
  apiPassword: string | undefined
}

/**
 * Puts the start-up credentials in place: service passwords from the environment first (they win
 * over generated ones), then demo secrets for whoever still has none. The plain-text demo secrets go
 * only to DATA_DIR/secrets/demo-secrets.json, for the simulator and services to read.
 */
export async function seedCredentials(
  opts: SeedOptions,
  registry: DeviceRegistry,
  store: CredentialStore,
  logger: Logger,
): Promise<{ devices: number; services: number }> {
  const fromEnv: Array<[string, string | undefined]> = [
    [SERVICE_ACCOUNTS.ingest, opts.ingestPassword],
    [SERVICE_ACCOUNTS.api, opts.apiPassword],
  ]
  await Promise.all(fromEnv.map(([name, pw]) => (pw === undefined ? undefined : store.setSecret(name, 'service', pw))))
  if (!opts.seedDemoSecrets) return { devices: 0, services: 0 }

  const missing = async (names: readonly string[]) => {
    const has = await Promise.all(names.map((n) => store.has(n)))
    return names.filter((_, i) => !has[i])
  }
  const devices = await missing(registry.devices.map((d) => d.id))
  const services = await missing(Object.values(SERVICE_ACCOUNTS))
  if (devices.length === 0 && services.length === 0) return { devices: 0, services: 0 }
  // Secrets already in the file (say, meta.sqlite was deleted) are reused, so the simulator keeps working.
  const secrets = ensureDemoSecrets(opts.dataDir, devices, services)
  // addSecret, not setSecret: a node starting at the same moment may have stored its own secret since the
  // check above; the first one stays (on one host both read the same demo file, so they are the same).
  const added = await Promise.all([
    ...devices.map((id) => store.addSecret(id, 'device', secrets.devices[id]!)),
    ...services.map((s) => store.addSecret(s, 'service', secrets.services[s]!)),
  ])
  const devicesAdded = added.slice(0, devices.length).filter(Boolean).length
  const servicesAdded = added.slice(devices.length).filter(Boolean).length
  logger.info('demo secrets seeded', { devices: devicesAdded, services: servicesAdded, file: 'secrets/demo-secrets.json' })
  return { devices: devicesAdded, services: servicesAdded }
}
