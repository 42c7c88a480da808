import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseRegistry } from '@mytho/schema'
import { demoSecretsPath, ensureDemoSecrets } from '@mytho/runtime'
import { syntheticFleet } from './fleet.ts'

/**
 * Writes `<dir>/registry.json` (valid against DeviceRegistryFile) and `<dir>/secrets/demo-secrets.json`
 * for N synthetic devices. A broker started with DEVICE_REGISTRY_FILE=<dir>/registry.json and
 * DATA_DIR=<dir> seeds their credentials from that file (seed-credentials.ts reuses secrets already
 * there), and the simulator reads them back from the same DATA_DIR.
 */
export function writeFleet(dir: string, n: number, seed: number): { registryFile: string; secretsFile: string; devices: number } {
  const devices = parseRegistry(syntheticFleet(n, seed), 'synthetic fleet')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const registryFile = join(dir, 'registry.json')
  writeFileSync(registryFile, `${JSON.stringify(devices, null, 1)}\n`)
  ensureDemoSecrets(
    dir,
    devices.map((d) => d.id),
  )
  return { registryFile, secretsFile: demoSecretsPath(dir), devices: devices.length }
}
