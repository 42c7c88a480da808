import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { DeviceRegistry, parseRegistry } from './registry.ts'

/** The seed fleet (data/seed-fleet.json): Mỹ Tho's places from ../shared/data/mytho-facts.md §1. */
export const SEED_FLEET_PATH = fileURLToPath(new URL('../data/seed-fleet.json', import.meta.url))

/** Reads and validates a registry file; throws a RegistryError naming the bad entry and field. */
export function loadRegistryFile(path: string = SEED_FLEET_PATH): DeviceRegistry {
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new Error(`cannot read device registry ${path}: ${(err as Error).message}`, { cause: err })
  }
  return new DeviceRegistry(parseRegistry(json, path))
}
