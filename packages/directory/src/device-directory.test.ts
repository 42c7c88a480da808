import { describe, expect, it, onTestFinished } from 'vitest'
import { DeviceRegistry, loadRegistryFile } from '@mytho/schema'
import { makeTempDir } from '@mytho/testing'
import { openCredentialStore, type CredentialStore } from './credential-store.ts'
import { loadProvisionedRegistry, openDeviceDirectory, type DeviceDirectory } from './device-directory.ts'
import { runDeviceDirectoryContract } from './device-directory.test-suite.ts'

runDeviceDirectoryContract('SQLite meta.sqlite', async () => {
  const dir = makeTempDir('mytho-directory-')
  const open: (DeviceDirectory | CredentialStore)[] = []
  onTestFinished(async () => {
    for (const s of open) await s.close()
    dir.cleanup()
  })
  const keep = <T extends DeviceDirectory | CredentialStore>(s: T): T => (open.push(s), s)
  return { open: () => keep(openDeviceDirectory(dir.path)), credentials: () => keep(openCredentialStore(dir.path)) }
})

describe('provisioned registry (SQLite)', () => {
  it('is seeded from the registry file, keeps provisioned devices, and finds one provisioned after start', async () => {
    const dir = makeTempDir('mytho-directory-')
    onTestFinished(() => dir.cleanup())
    const seed = loadRegistryFile().devices
    const file = new DeviceRegistry(seed.slice(0, 2))
    const registry = loadProvisionedRegistry(dir.path, file)
    expect(registry.size).toBe(2)

    const directory = openDeviceDirectory(dir.path)
    onTestFinished(() => directory.close())
    const extra = { ...seed[0]!, id: 'wl-provisioned-01' }
    expect(await directory.insert(extra)).toBe(true)
    expect(registry.get('wl-provisioned-01')).toEqual(extra)

    // Next start: the provisioned device is there, and a device added to the file joins without undoing anything.
    const next = loadProvisionedRegistry(dir.path, new DeviceRegistry(seed.slice(0, 3)))
    expect(next.devices.map((d) => d.id).sort()).toEqual([...seed.slice(0, 3).map((d) => d.id), 'wl-provisioned-01'].sort())
    expect(next.get('wl-provisioned-01')).toEqual(extra)
  })
})
