import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { makeTempDir } from '@mytho/testing'
import { hashSecret, openCredentialStore, verifySecret, type CredentialStore } from './credential-store.ts'
import { runCredentialStoreContract } from './credential-store.test-suite.ts'

describe('credential hashes', () => {
  it('keeps only an scrypt hash: scrypt$N$r$p$salt$hash, salted per secret', async () => {
    const a = await hashSecret('s3cret-s3cret')
    const b = await hashSecret('s3cret-s3cret')
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/)
    expect(a).not.toBe(b)
    expect(await verifySecret(a, 's3cret-s3cret')).toBe(true)
    expect(await verifySecret(a, 's3cret-s3creT')).toBe(false)
    expect(await verifySecret('md5$whatever', 'x')).toBe(false)
  })
})

runCredentialStoreContract('SQLite meta.sqlite', async () => {
  const dir = makeTempDir('mytho-cred-')
  const stores: CredentialStore[] = []
  onTestFinished(async () => {
    for (const s of stores) await s.close()
    dir.cleanup()
  })
  return {
    open(options) {
      const s = openCredentialStore(dir.path, options)
      stores.push(s)
      return s
    },
    // The WAL holds what the main file has not taken in yet; both are read.
    dump: async () => readdirSync(dir.path).map((f) => readFileSync(join(dir.path, f)).toString('latin1')).join('\n'),
  }
})
