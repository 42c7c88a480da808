import { createHash } from 'node:crypto'
import { Redis } from 'ioredis'
import { silentLogger, type Logger } from '@mytho/runtime'

/*
 * The metadata store on Redis (issue #10): with REDIS_URL, device credentials, the device directory,
 * operators, sessions, the audit log and login throttles live in the cluster's one shared engine instead of
 * DATA_DIR/meta.sqlite, so broker and API nodes on different hosts see the same rows. Every key starts with
 * META_PREFIX, apart from the broker's and the adapter's own keys on the same Redis.
 */
export const META_PREFIX = 'mytho:meta:'

/** Where a Redis store's keys start, and the connection it runs on. */
export interface MetaRedis {
  redis: Redis
  /** Key prefix, META_PREFIX unless a test gives each store its own. */
  prefix: string
  /** Quits the connection when the store opened it; a connection passed in is the caller's. */
  release(): Promise<void>
}

export interface MetaRedisOptions {
  /** Default META_PREFIX. */
  prefix?: string
  /** Where connection errors go (ioredis reconnects by itself). Default silent. */
  logger?: Logger
}

export class MetaStoreError extends Error {
  override name = 'MetaStoreError'
}

const redact = (url: string): string => url.replace(/\/\/([^@/]*)@/, '//***@')

/**
 * A connection for a Redis metadata store: a URL opens one the store owns (connected on first use, so
 * opening stays synchronous like the SQLite stores), a client passed in is shared and left open.
 */
export function metaRedis(target: Redis | string, opts: MetaRedisOptions = {}): MetaRedis {
  const prefix = opts.prefix ?? META_PREFIX
  if (typeof target !== 'string') return { redis: target, prefix, release: async () => {} }
  const logger = opts.logger ?? silentLogger
  const redis = new Redis(target, { lazyConnect: true, connectionName: 'mytho-meta' })
  // Unheard, an 'error' event would end the process; a command waits for the reconnect meanwhile.
  redis.on('error', (err: Error) => logger.warn('redis connection error', { conn: 'meta', redis: redact(target), err: err.message }))
  let released: Promise<void> | undefined
  return {
    redis,
    prefix,
    release: () =>
      (released ??= redis.quit().then(
        () => undefined,
        () => redis.disconnect(),
      )),
  }
}

/**
 * A Lua script run by its SHA1 (EVALSHA), sent in full once per connection that has not seen it (NOSCRIPT).
 * Scripts run atomically in Redis: a read-then-write in one of them is never interleaved with another node's.
 */
export function luaScript(source: string) {
  const sha = createHash('sha1').update(source).digest('hex')
  return async (redis: Redis, keys: readonly string[], args: readonly (string | number)[] = []): Promise<unknown> => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args)
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err
      return redis.eval(source, keys.length, ...keys, ...args)
    }
  }
}
