import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it, onTestFinished } from 'vitest'
import { makeTempDir } from '@mytho/testing'
import { hashSecret, openCredentialStore, verifySecret } from './credential-store.ts'

function tempStore(options = {}) {
  const dir = makeTempDir('mytho-cred-')
  const store = openCredentialStore(dir.path, options)
  onTestFinished(() => {
    store.close()
    dir.cleanup()
  })
  return { store, dir: dir.path }
}

describe('credential store', () => {
  it('keeps only an scrypt hash: scrypt$N$r$p$salt$hash, salted per secret', async () => {
    const a = await hashSecret('s3cret-s3cret')
    const b = await hashSecret('s3cret-s3cret')
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/)
    expect(a).not.toBe(b)
    expect(await verifySecret(a, 's3cret-s3cret')).toBe(true)
    expect(await verifySecret(a, 's3cret-s3creT')).toBe(false)
    expect(await verifySecret('md5$whatever', 'x')).toBe(false)

    const { store, dir } = tempStore()
    await store.setSecret('dev-one', 'device', 'plain-text-secret-xyz')
    store.close()
    for (const f of readdirSync(dir)) expect(readFileSync(join(dir, f)).includes('plain-text-secret-xyz')).toBe(false)
  })

  it("answers ok, bad, unknown and disabled", async () => {
    const { store, dir } = tempStore()
    await store.setSecret('dev-one', 'device', 'right')
    expect(store.has('dev-one')).toBe(true)
    expect(store.has('dev-two')).toBe(false)
    expect(await store.verify('dev-one', 'right')).toBe('ok')
    expect(await store.verify('dev-one', Buffer.from('right'))).toBe('ok')
    expect(await store.verify('dev-one', 'wrong')).toBe('bad')
    expect(await store.verify('dev-one', undefined)).toBe('bad')
    expect(await store.verify('dev-two', 'right')).toBe('unknown')
    const db = new Database(join(dir, 'meta.sqlite'))
    db.prepare('UPDATE credentials SET disabled = 1 WHERE username = ?').run('dev-one')
    db.close()
    expect(await store.verify('dev-one', 'right')).toBe('disabled')
  })

  it('answers a reconnect storm from its cache: one scrypt run per device, not per login', async () => {
    const { store } = tempStore()
    await store.setSecret('dev-one', 'device', 'right')
    for (let i = 0; i < 50; i++) expect(await store.verify('dev-one', 'right')).toBe('ok')
    expect(store.stats).toEqual({ scryptRuns: 1, cacheHits: 49 })
    // A wrong password is never answered from the cache.
    expect(await store.verify('dev-one', 'wrong')).toBe('bad')
    expect(store.stats.scryptRuns).toBe(2)
  })

  it('forgets a cached login when the secret changes, even when another process changed it', async () => {
    const { store, dir } = tempStore()
    await store.setSecret('dev-one', 'device', 'old')
    expect(await store.verify('dev-one', 'old')).toBe('ok')
    const other = openCredentialStore(dir) // the API provisioning a new secret
    await other.setSecret('dev-one', 'device', 'new')
    other.close()
    expect(await store.verify('dev-one', 'old')).toBe('bad')
    expect(await store.verify('dev-one', 'new')).toBe('ok')
  })

  it('keeps the cache bounded, dropping the least recently used login', async () => {
    const { store } = tempStore({ cacheEntries: 2 })
    await Promise.all(['a', 'b', 'c'].map((u) => store.setSecret(`dev-${u}`, 'device', u)))
    for (const u of ['a', 'b', 'a', 'c']) await store.verify(`dev-${u}`, u) // c evicts b, the least recent
    expect(store.stats).toEqual({ scryptRuns: 3, cacheHits: 1 })
    await store.verify('dev-a', 'a')
    await store.verify('dev-b', 'b')
    expect(store.stats).toEqual({ scryptRuns: 4, cacheHits: 2 })
  })

  it('close() twice is fine', () => {
    const { store } = tempStore()
    store.close()
    store.close()
  })
})
