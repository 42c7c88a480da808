import { describe, expect, it } from 'vitest'
import { type DeviceRecord, loadRegistryFile } from '@mytho/schema'
import type { CredentialStore } from './credential-store.ts'
import type { DeviceDirectory } from './device-directory.ts'

/*
 * The behaviour every DeviceDirectory owes the API and the services; run on a real SQLite file
 * (device-directory.test.ts) and a real redis-server (device-directory-redis.test.ts).
 */

export interface DirectoryBackend {
  /** Another directory on the same data (another process or node). */
  open(): DeviceDirectory
  /** A credential store on the same data: the directory reads its rows. */
  credentials(): CredentialStore
}
export type MakeDirectoryBackend = () => Promise<DirectoryBackend>

export function runDeviceDirectoryContract(name: string, make: MakeDirectoryBackend): void {
  const seed = loadRegistryFile().devices

  describe(`device directory contract: ${name}`, () => {
    it('is seeded from the registry file once per device, even by nodes seeding at once; a stored record wins over the file', async () => {
      const b = await make()
      const nodes = [b.open(), b.open(), b.open()]
      const added = await Promise.all(nodes.map((d) => d.seedIfEmpty(seed.slice(0, 5))))
      expect(added.reduce((a, n) => a + n, 0)).toBe(5)
      const changed = { ...seed[0]!, nameEn: 'changed by the file' }
      expect(await nodes[0]!.seedIfEmpty([changed, ...seed.slice(5, 7)])).toBe(2)
      expect((await nodes[1]!.get(seed[0]!.id))?.nameEn).toBe(seed[0]!.nameEn)
      const ids = (await nodes[2]!.list()).map((d) => d.id)
      expect(ids).toEqual(
        seed
          .slice(0, 7)
          .map((d) => d.id)
          .sort(),
      )
    })

    it('inserts a validated record once and reads it with its credential row', async () => {
      const b = await make()
      const directory = b.open()
      const other = b.open()
      const extra: DeviceRecord = { ...seed[0]!, id: 'wl-provisioned-01' }
      expect(await directory.insert(extra)).toBe(true)
      expect(await other.insert(extra)).toBe(false)
      await expect(directory.insert({ ...extra, id: 'wl-bad', lat: 999 })).rejects.toThrow()
      expect(await other.get('wl-bad')).toBeUndefined()
      expect(await other.get('wl-provisioned-01')).toEqual({ ...extra, disabled: false, hasSecret: false })

      const creds = b.credentials()
      await creds.setSecret('wl-provisioned-01', 'device', 'a-secret-for-the-test')
      expect(await other.get('wl-provisioned-01')).toMatchObject({ disabled: false, hasSecret: true })
      await creds.setDisabled('wl-provisioned-01', true)
      expect(await other.get('wl-provisioned-01')).toMatchObject({ id: 'wl-provisioned-01', disabled: true, hasSecret: true })
      expect(await other.list()).toEqual([{ ...extra, disabled: true, hasSecret: true }])
    })

    it('update (a move) replaces an existing record for every node, and never creates one', async () => {
      const b = await make()
      const [a, other] = [b.open(), b.open()]
      await a.seedIfEmpty(seed.slice(0, 1))
      const moved = { ...seed[0]!, lat: 10.3555, lon: 106.3777 }
      expect(await a.update(moved)).toBe(true)
      expect(await other.get(moved.id)).toMatchObject({ lat: 10.3555, lon: 106.3777 })
      expect(await a.update({ ...seed[1]!, id: 'wl-never-provisioned' })).toBe(false)
      expect(await other.get('wl-never-provisioned')).toBeUndefined()
      await expect(a.update({ ...moved, lat: 48.85 })).rejects.toThrow()
      await Promise.all([a.close(), other.close()])
    })

    it('close() twice is fine', async () => {
      const d = (await make()).open()
      await d.close()
      await d.close()
    })
  })
}
