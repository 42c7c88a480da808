import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { DeviceRegistry, loadRegistryFile } from '@mytho/schema'
import { startRedisServer, waitFor, type RedisServer } from '@mytho/testing'
import type { CredentialStore } from './credential-store.ts'
import { openRedisCredentialStore } from './credential-store-redis.ts'
import type { DeviceDirectory } from './device-directory.ts'
import { followRedisDirectory, openRedisDeviceDirectory } from './device-directory-redis.ts'
import { runDeviceDirectoryContract } from './device-directory.test-suite.ts'

let server: RedisServer
beforeAll(async () => {
  server = await startRedisServer()
})
afterAll(() => server?.stop())

let n = 0
runDeviceDirectoryContract('Redis', async () => {
  const prefix = `test${++n}:meta:`
  const open: (DeviceDirectory | CredentialStore)[] = []
  onTestFinished(async () => {
    for (const s of open) await s.close()
  })
  const keep = <T extends DeviceDirectory | CredentialStore>(s: T): T => (open.push(s), s)
  return {
    open: () => keep(openRedisDeviceDirectory(server.url, { prefix })),
    credentials: () => keep(openRedisCredentialStore(server.url, { prefix })),
  }
})

describe('provisioned registry following the directory on Redis', () => {
  it('is seeded from the file and learns a device inserted through another node without a restart', async () => {
    const prefix = `follow${++n}:meta:`
    const seed = loadRegistryFile().devices
    const announced: string[] = []
    const followed = await followRedisDirectory(server.url, new DeviceRegistry(seed.slice(0, 2)), { prefix, onDevice: (r) => announced.push(r.id) })
    onTestFinished(() => followed.close())
    expect(followed.registry.size).toBe(2)
    const directory = openRedisDeviceDirectory(server.url, { prefix })
    onTestFinished(() => directory.close())
    const extra = { ...seed[0]!, id: 'wl-provisioned-02' }
    expect(await directory.insert(extra)).toBe(true)
    // Asked before the announcement arrives, the registry would remember the miss for 30 s (DeviceRegistry).
    await waitFor(() => announced.includes('wl-provisioned-02'), { what: 'the announcement of the new device' })
    expect(followed.registry.get('wl-provisioned-02')).toEqual(extra)

    const other = await followRedisDirectory(server.url, new DeviceRegistry(seed.slice(0, 3)), { prefix })
    onTestFinished(() => other.close())
    expect(other.registry.devices.map((d) => d.id).sort()).toEqual([...seed.slice(0, 3).map((d) => d.id), 'wl-provisioned-02'].sort())
  })
})
