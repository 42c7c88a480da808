import { describe, expect, it } from 'vitest'
import { hashSecret, verifySecret } from './hashing.ts'

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
