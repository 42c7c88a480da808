import { describe, expect, it, onTestFinished } from 'vitest'
import { DeviceRegistry, loadRegistryFile } from '@mytho/schema'
import { makeTempDir } from '@mytho/testing'
import { openCredentialStore } from './credential-store.ts'
import { loadProvisionedRegistry, openDeviceDirectory } from './device-directory.ts'

describe('device directory', () => {
  it('is seeded from the registry file, keeps provisioned devices, and reads the credential row', async () => {
    const dir = makeTempDir('mytho-directory-')
    onTestFinished(() => dir.cleanup())
    const seed = loadRegistryFile().devices
    const file = new DeviceRegistry(seed.slice(0, 2))
    expect(loadProvisionedRegistry(dir.path, file).size).toBe(2)

    const directory = openDeviceDirectory(dir.path)
    onTestFinished(() => directory.close())
    const extra = { ...seed[0]!, id: 'wl-provisioned-01' }
    expect(directory.insert(extra)).toBe(true)
    expect(directory.insert(extra)).toBe(false)
    const creds = openCredentialStore(dir.path)
    onTestFinished(() => creds.close())
    await creds.setSecret('wl-provisioned-01', 'device', 'a-secret-for-the-test')
    creds.setDisabled('wl-provisioned-01', true)
    expect(directory.get('wl-provisioned-01')).toMatchObject({ id: 'wl-provisioned-01', disabled: true, hasSecret: true })
    expect(directory.get(seed[0]!.id)).toMatchObject({ disabled: false, hasSecret: false })

    // Next start: the provisioned device is there, and a device added to the file joins without undoing anything.
    const next = loadProvisionedRegistry(dir.path, new DeviceRegistry(seed.slice(0, 3)))
    expect(next.devices.map((d) => d.id).sort()).toEqual([...seed.slice(0, 3).map((d) => d.id), 'wl-provisioned-01'].sort())
    expect(next.get('wl-provisioned-01')).toEqual(extra)
  })
})
