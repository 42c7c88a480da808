import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { z } from 'zod'

/**
 * Plain-text secrets for a demo or development start: the seed fleet's device secrets and the
 * ingest/API service-account passwords, generated on first start into DATA_DIR (mode 0600, never
 * committed) so the simulator and services can read them. The broker keeps only scrypt hashes.
 * In production, devices are provisioned and services get their passwords from the environment.
 */
export const DemoSecrets = z.object({
  devices: z.record(z.string(), z.string()),
  services: z.record(z.string(), z.string()),
})
export type DemoSecrets = z.infer<typeof DemoSecrets>

export const SERVICE_ACCOUNTS = { ingest: 'svc-ingest', api: 'svc-api' } as const
export type ServiceName = keyof typeof SERVICE_ACCOUNTS

export const demoSecretsPath = (dataDir: string): string => join(dataDir, 'secrets', 'demo-secrets.json')

export const newSecret = (): string => randomBytes(18).toString('base64url')

export function readDemoSecrets(dataDir: string): DemoSecrets | undefined {
  let text: string
  try {
    text = readFileSync(demoSecretsPath(dataDir), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  const parsed = DemoSecrets.safeParse(JSON.parse(text))
  if (!parsed.success) throw new Error(`${demoSecretsPath(dataDir)} is not a demo secrets file: ${z.prettifyError(parsed.error)}`)
  return parsed.data
}

/** Adds secrets for ids that lack one and returns the whole set; written atomically (rename). */
export function ensureDemoSecrets(dataDir: string, deviceIds: readonly string[], services: readonly string[] = Object.values(SERVICE_ACCOUNTS)): DemoSecrets {
  const current = readDemoSecrets(dataDir) ?? { devices: {}, services: {} }
  let changed = false
  for (const id of deviceIds) if (!current.devices[id]) (current.devices[id] = newSecret()), (changed = true)
  for (const s of services) if (!current.services[s]) (current.services[s] = newSecret()), (changed = true)
  if (changed) {
    const path = demoSecretsPath(dataDir)
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
    const tmp = `${path}.${process.pid}.tmp`
    writeFileSync(tmp, JSON.stringify(current, null, 2), { mode: 0o600 })
    renameSync(tmp, path)
  }
  return current
}

/** A service's MQTT password: from the environment when given, else the generated demo one. */
export function servicePassword(dataDir: string, service: ServiceName, fromEnv: string | undefined): string | undefined {
  return fromEnv ?? readDemoSecrets(dataDir)?.services[SERVICE_ACCOUNTS[service]]
}
