import { Redis } from 'ioredis'
import { DeviceRecord, DeviceRegistry } from '@mytho/schema'
import { silentLogger } from '@mytho/runtime'
import { credentialKey } from './credential-store-redis.ts'
import { recordOf, type DeviceDirectory, type ProvisionedDevice } from './device-directory.ts'
import { luaScript, metaRedis, type MetaRedisOptions } from './meta-redis.ts'
import { followDirectory } from './registry-follow.ts'

/** One hash, device id → its DeviceRecord as JSON. */
export const devicesKey = (prefix: string) => `${prefix}devices`
/** Pub/sub channel: the JSON record of every device inserted, for registries that follow the directory. */
const createdChannel = (prefix: string) => `${prefix}devices:created`

// A move replaces an existing record only: a device removed meanwhile is not brought back.
const UPDATE = luaScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`)

// HSETNX and the announcement in one step: a follower that missed nothing sees every insert.
const INSERT = luaScript(`
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('PUBLISH', ARGV[3], ARGV[2])
return 1`)

/**
 * The device directory on the cluster's Redis, beside the credential rows (credential-store-redis.ts)
 * that say whether a device is disabled or has a secret. Records are validated JSON as in SQLite.
 */
export function openRedisDeviceDirectory(target: Redis | string, options: MetaRedisOptions = {}): DeviceDirectory {
  const { redis, prefix, release } = metaRedis(target, options)
  const key = devicesKey(prefix)

  const withCredentials = async (records: DeviceRecord[]): Promise<ProvisionedDevice[]> => {
    if (records.length === 0) return []
    const pipeline = redis.pipeline()
    for (const r of records) pipeline.hmget(credentialKey(prefix, r.id), 'hash', 'disabled')
    const rows = (await pipeline.exec()) ?? []
    return records.map((r, i) => {
      const [err, row] = rows[i] ?? [null, [null, null]]
      if (err) throw err
      const [hash, disabled] = row as [string | null, string | null]
      return { ...r, disabled: disabled === '1', hasSecret: hash !== null }
    })
  }

  let closed: Promise<void> | undefined
  return {
    async seedIfEmpty(records) {
      if (records.length === 0) return 0
      // A record already in the store wins: an admin's later change is not undone by the file.
      const pipeline = redis.pipeline()
      for (const r of records) pipeline.hsetnx(key, r.id, JSON.stringify(r))
      const added = (await pipeline.exec()) ?? []
      return added.filter(([err, n]) => !err && n === 1).length
    },

    async list() {
      const all = await redis.hgetall(key)
      const records = Object.keys(all)
        .sort()
        .map((id) => JSON.parse(all[id]!) as DeviceRecord)
      return withCredentials(records)
    },

    async get(id) {
      const json = await redis.hget(key, id)
      if (json === null) return undefined
      return (await withCredentials([JSON.parse(json) as DeviceRecord]))[0]
    },

    async insert(record) {
      return (await INSERT(redis, [key], [record.id, JSON.stringify(DeviceRecord.parse(record)), createdChannel(prefix)])) === 1
    },

    async update(record) {
      return (await UPDATE(redis, [key], [record.id, JSON.stringify(DeviceRecord.parse(record))])) === 1
    },

    close: () => (closed ??= release()),
  }
}

export interface FollowedRegistry {
  registry: DeviceRegistry
  /** Re-reads the directory now (a registry notice came); the registry also re-reads it every few seconds. */
  resync(): Promise<void>
  close(): Promise<void>
}

/**
 * The registry a service starts with on a cluster: the directory on Redis (seeded from the file if a device
 * of it is missing), kept current by the directory's `created` announcements so a device provisioned through
 * any API node is known here at once: DeviceRegistry's lookup must answer synchronously, so it reads a local
 * copy, never Redis. Moves, disables and enables reach it by re-reading (registry-follow.ts: on a notice, on
 * every reconnect of the subscription and every few seconds), so nothing changed while it was away is missed.
 */
export async function followRedisDirectory(
  redisUrl: string,
  fromFile: DeviceRegistry,
  options: MetaRedisOptions & { onDevice?: (record: DeviceRecord) => void; intervalMs?: number } = {},
): Promise<FollowedRegistry> {
  const directory = openRedisDeviceDirectory(redisUrl, options)
  const prefix = options.prefix ?? 'mytho:meta:'
  const logger = options.logger ?? silentLogger
  const known = new Map<string, DeviceRecord>()
  const registry = new DeviceRegistry([], (id) => known.get(id))
  const follower = followDirectory(
    {
      list: async () => {
        const all = await directory.list()
        known.clear()
        for (const d of all) if (!d.disabled) known.set(d.id, recordOf(d))
        return all
      },
    },
    registry,
    { logger, ...(options.intervalMs !== undefined ? { intervalMs: options.intervalMs } : {}) },
  )
  const sub = new Redis(redisUrl, { lazyConnect: true, connectionName: 'mytho-meta-follow' })
  sub.on('error', (err: Error) => logger.warn('redis connection error', { conn: 'directory-follow', err: err.message }))
  sub.on('message', (_channel: string, json: string) => {
    const r = DeviceRecord.safeParse(JSON.parse(json))
    if (!r.success) return
    known.set(r.data.id, r.data)
    options.onDevice?.(r.data)
    void follower.resync()
  })
  let first = true
  sub.on('ready', () => {
    if (first) return void (first = false)
    void follower.resync()
  })
  try {
    await directory.seedIfEmpty(fromFile.devices)
    await sub.connect()
    await sub.subscribe(createdChannel(prefix))
    await follower.load()
  } catch (err) {
    sub.disconnect()
    await follower.close()
    await directory.close()
    throw err
  }
  return {
    registry,
    resync: follower.resync,
    close: async () => {
      await follower.close()
      await Promise.all([sub.quit().catch(() => sub.disconnect()), directory.close()])
    },
  }
}
