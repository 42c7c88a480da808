import { describe, expect, it, onTestFinished } from 'vitest'
import { DeviceRegistry, loadRegistryFile } from '@mytho/schema'
import { makeTempDir, waitFor } from '@mytho/testing'
import { openCredentialStore } from './credential-store.ts'
import { loadProvisionedRegistry, openDeviceDirectory } from './device-directory.ts'
import { followDirectory } from './registry-follow.ts'

describe('a registry following the device directory (SQLite)', () => {
  it('heals with no notice at all: a new, moved or disabled device reaches it by the timer alone; a failed read keeps the last copy', async () => {
    const dir = makeTempDir('mytho-follow-')
    onTestFinished(() => dir.cleanup())
    const seed = loadRegistryFile().devices
    const registry = loadProvisionedRegistry(dir.path, new DeviceRegistry(seed.slice(0, 2)))
    const directory = openDeviceDirectory(dir.path)
    const credentials = openCredentialStore(dir.path)
    onTestFinished(async () => {
      await credentials.close()
      dir.cleanup()
    })
    let broken = false
    const follower = followDirectory({ list: () => (broken ? Promise.reject(new Error('store away')) : directory.list()) }, registry, {
      intervalMs: 30,
      closeDirectory: () => directory.close(),
    })
    onTestFinished(() => follower.close())
    const heard: string[] = []
    registry.onChange((ids) => heard.push(...ids))

    const extra = { ...seed[0]!, id: 'wl-follow-01' }
    await directory.insert(extra)
    await credentials.setSecret(extra.id, 'device', 'a-secret-long-enough-1')
    await waitFor(() => registry.devices.find((d) => d.id === extra.id), { what: 'the new device' })
    expect(heard).toContain(extra.id)

    await directory.update({ ...extra, lat: 10.3555 })
    await waitFor(() => registry.get(extra.id)?.lat === 10.3555 || undefined, { what: 'the move' })

    await credentials.setDisabled(extra.id, true)
    await waitFor(() => registry.get(extra.id) === undefined || undefined, { what: 'the disabled device gone' })
    expect(registry.devices.map((d) => d.id)).not.toContain(extra.id)

    broken = true
    await follower.resync()
    expect(registry.size).toBe(2)
    await credentials.setDisabled(extra.id, false)
    broken = false
    await follower.resync()
    expect(registry.get(extra.id)).toMatchObject({ id: extra.id, lat: 10.3555 })
  })
})
