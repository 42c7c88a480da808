import type { Redis } from 'ioredis'

/** Every key under `prefix` with its value, as text, for tests that look for what must never be stored. */
export async function dumpKeys(redis: Redis, prefix: string): Promise<string> {
  const out: string[] = []
  for (const key of await redis.keys(`${prefix}*`)) {
    const type = await redis.type(key)
    const value =
      type === 'hash'
        ? await redis.hgetall(key)
        : type === 'string'
          ? await redis.get(key)
          : type === 'set'
            ? await redis.smembers(key)
            : type === 'zset'
              ? await redis.zrange(key, 0, -1)
              : type
    out.push(`${key} ${JSON.stringify(value)}`)
  }
  return out.join('\n')
}
