import { describe, expect, it } from 'vitest'
import type { CredentialStore, CredentialStoreOptions } from './credential-store.ts'

/*
 * The behaviour every CredentialStore owes the broker and the API. credential-store.test.ts runs it on a
 * real SQLite file, credential-store-redis.test.ts on a real redis-server; nothing here knows which.
 */

export interface CredentialBackend {
  /** Another store on the same data: another process on the host, or another node of the cluster. */
  open(options?: CredentialStoreOptions): CredentialStore
  /** Everything the backend holds, as text, to look for secrets in. */
  dump(): Promise<string>
}
/** A fresh, empty backend; its teardown registered with onTestFinished. */
export type MakeCredentialBackend = () => Promise<CredentialBackend>

export function runCredentialStoreContract(name: string, make: MakeCredentialBackend): void {
  describe(`credential store contract: ${name}`, () => {
    it('keeps only scrypt hashes, never a secret', async () => {
      const b = await make()
      const store = b.open()
      await store.setSecret('dev-one', 'device', 'plain-text-secret-xyz')
      await store.addSecret('dev-two', 'device', 'another-plain-secret')
      const all = await b.dump()
      expect(all).toContain('scrypt$16384$8$1$')
      expect(all).not.toContain('plain-text-secret-xyz')
      expect(all).not.toContain('another-plain-secret')
    })

    it('answers ok, bad, unknown and disabled; has and roleOf read the row', async () => {
      const b = await make()
      const store = b.open()
      await store.setSecret('dev-one', 'device', 'right')
      await store.setSecret('svc-x', 'service', 'service-secret')
      expect(await store.has('dev-one')).toBe(true)
      expect(await store.has('dev-two')).toBe(false)
      expect(await store.roleOf('dev-one')).toBe('device')
      expect(await store.roleOf('svc-x')).toBe('service')
      expect(await store.roleOf('dev-two')).toBeUndefined()
      expect(await store.verify('dev-one', 'right')).toBe('ok')
      expect(await store.verify('dev-one', Buffer.from('right'))).toBe('ok')
      expect(await store.verify('dev-one', 'wrong')).toBe('bad')
      expect(await store.verify('dev-one', undefined)).toBe('bad')
      expect(await store.verify('dev-two', 'right')).toBe('unknown')
      expect(await store.setDisabled('dev-one', true)).toBe(true)
      expect(await store.verify('dev-one', 'right')).toBe('disabled')
      // A new secret does not re-enable a disabled login.
      await store.setSecret('dev-one', 'device', 'newer')
      expect(await store.verify('dev-one', 'newer')).toBe('disabled')
      expect(await store.setDisabled('dev-one', false)).toBe(true)
      expect(await store.verify('dev-one', 'newer')).toBe('ok')
      // Disabling a name without a row creates nothing.
      expect(await store.setDisabled('dev-two', true)).toBe(false)
      expect(await store.has('dev-two')).toBe(false)
    })

    it('answers a reconnect storm from its cache: one scrypt run per device, not per login', async () => {
      const store = (await make()).open()
      await store.setSecret('dev-one', 'device', 'right')
      for (let i = 0; i < 20; i++) expect(await store.verify('dev-one', 'right')).toBe('ok')
      expect(store.stats).toEqual({ scryptRuns: 1, cacheHits: 19 })
      // A wrong password is never answered from the cache.
      expect(await store.verify('dev-one', 'wrong')).toBe('bad')
      expect(store.stats.scryptRuns).toBe(2)
    })

    it('a secret rotated or a login disabled through another node is refused at its next login here, cache or not', async () => {
      const b = await make()
      const here = b.open()
      const there = b.open()
      await there.setSecret('dev-one', 'device', 'old')
      expect(await here.verify('dev-one', 'old')).toBe('ok')
      expect(await here.verify('dev-one', 'old')).toBe('ok') // now cached here
      await there.setSecret('dev-one', 'device', 'new')
      expect(await here.verify('dev-one', 'old')).toBe('bad')
      expect(await here.verify('dev-one', 'new')).toBe('ok')
      expect(await here.verify('dev-one', 'new')).toBe('ok')
      expect(await there.setDisabled('dev-one', true)).toBe(true)
      expect(await here.verify('dev-one', 'new')).toBe('disabled')
    })

    it('addSecret: of nodes seeding at once exactly one stores its secret, and it is the one that logs in', async () => {
      const b = await make()
      const nodes = [b.open(), b.open(), b.open()]
      const won = await Promise.all(nodes.map((s, i) => s.addSecret('svc-seeded', 'service', `secret-of-node-${i}`)))
      expect(won.filter(Boolean)).toHaveLength(1)
      const winner = won.indexOf(true)
      for (const s of nodes) expect(await s.verify('svc-seeded', `secret-of-node-${winner}`)).toBe('ok')
      expect(await nodes[0]!.verify('svc-seeded', `secret-of-node-${(winner + 1) % 3}`)).toBe('bad')
      // setSecret (service passwords from the environment) replaces it.
      await nodes[1]!.setSecret('svc-seeded', 'service', 'from-the-environment')
      expect(await nodes[2]!.verify('svc-seeded', 'from-the-environment')).toBe('ok')
    })

    it('keeps the cache bounded, dropping the least recently used login', async () => {
      const store = (await make()).open({ cacheEntries: 2 })
      await Promise.all(['a', 'b', 'c'].map((u) => store.setSecret(`dev-${u}`, 'device', u)))
      for (const u of ['a', 'b', 'a', 'c']) await store.verify(`dev-${u}`, u) // c evicts b, the least recent
      expect(store.stats).toEqual({ scryptRuns: 3, cacheHits: 1 })
      await store.verify('dev-a', 'a')
      await store.verify('dev-b', 'b')
      expect(store.stats).toEqual({ scryptRuns: 4, cacheHits: 2 })
    })

    it('close() twice is fine; a secret hashed after close is refused with CredentialStoreError', async () => {
      const store = (await make()).open()
      const late = store.setSecret('dev-late', 'device', 'x')
      await store.close()
      await store.close()
      await expect(late).rejects.toThrow(/closed/)
    })
  })
}
