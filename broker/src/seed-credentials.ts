import { ensureDemoSecrets, SERVICE_ACCOUNTS, type Logger } from '@mytho/runtime'
import type { DeviceRegistry } from '@mytho/schema'
import type { CredentialStore } from './credential-store.ts'

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
export async function seedCredentials(opts: SeedOptions, registry: DeviceRegistry, store: CredentialStore, logger: Logger): Promise<{ devices: number; services: number }> {
  const fromEnv: Array<[string, string | undefined]> = [
    [SERVICE_ACCOUNTS.ingest, opts.ingestPassword],
    [SERVICE_ACCOUNTS.api, opts.apiPassword],
  ]
  await Promise.all(fromEnv.map(([name, pw]) => (pw === undefined ? undefined : store.setSecret(name, 'service', pw))))
  if (!opts.seedDemoSecrets) return { devices: 0, services: 0 }

  const devices = registry.devices.map((d) => d.id).filter((id) => !store.has(id))
  const services = Object.values(SERVICE_ACCOUNTS).filter((s) => !store.has(s))
  if (devices.length === 0 && services.length === 0) return { devices: 0, services: 0 }
  // Secrets already in the file (say, meta.sqlite was deleted) are reused, so the simulator keeps working.
  const secrets = ensureDemoSecrets(opts.dataDir, devices, services)
  await Promise.all([
    ...devices.map((id) => store.setSecret(id, 'device', secrets.devices[id]!)),
    ...services.map((s) => store.setSecret(s, 'service', secrets.services[s]!)),
  ])
  logger.info('demo secrets seeded', { devices: devices.length, services: services.length, file: 'secrets/demo-secrets.json' })
  return { devices: devices.length, services: services.length }
}
