import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

/*
 * Every stored secret (device and service credentials, operator passwords) is a scrypt hash made here, so the
 * broker, the API and the one-shot copy into Redis read one format.
 */

// scrypt cost: N=2^14, r=8, p=1 (16 MiB, ~50 ms a run): the usual interactive-login setting.
const N = 16_384
const R = 8
const P = 1
const KEY_BYTES = 32
const SALT_BYTES = 16
const MAXMEM = 64 * 1024 * 1024

function scryptAsync(secret: string | Buffer, salt: Buffer, n: number, r: number, p: number, keyLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(secret, salt, keyLength, { N: n, r, p, maxmem: MAXMEM }, (err, key) => (err ? reject(err) : resolve(key))))
}

/** `scrypt$N$r$p$salt$hash`, salt and hash in base64; the parameters travel with the hash so they can change later. */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES)
  const key = await scryptAsync(secret, salt, N, R, P, KEY_BYTES)
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`
}

export async function verifySecret(encoded: string, secret: string | Buffer): Promise<boolean> {
  const parts = encoded.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false
  const [n, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])]
  const salt = Buffer.from(parts[4]!, 'base64')
  const expected = Buffer.from(parts[5]!, 'base64')
  if (!Number.isInteger(n) || !Number.isInteger(r) || !Number.isInteger(p) || expected.length === 0) return false
  const key = await scryptAsync(secret, salt, n, r, p, expected.length)
  return timingSafeEqual(key, expected)
}
