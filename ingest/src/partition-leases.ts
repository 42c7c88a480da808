import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import type { Logger } from '@mytho/runtime'
import { fnv1a32 } from '@mytho/schema'

/*
 * Which ingest worker owns which partition (issue #10): one lease per partition in Redis, `SET lease token NX PX
 * ttl`, renewed every third of the TTL by an atomic compare-and-PEXPIRE, and a heartbeat per worker (a sorted set
 * scored by expiry) so every worker knows how many are alive and takes its fair share, ceil(P / live). A worker
 * above its share hands partitions back gracefully (the caller stops reading that session, stores and
 * acknowledges what it holds, disconnects; then the lease is deleted if still its own). A dead worker stops
 * renewing: its leases and heartbeat expire after the TTL and the others take its partitions.
 *
 * A lease that cannot be renewed (Redis unreachable, or another owner) is given up locally before it can have
 * expired in Redis (the validity is counted from before the renewal was sent), so two workers never read one
 * partition's session knowingly at once; if a stalled worker still does, the broker closes the older
 * connection of that client id [MQTT-3.1.4-2] and storage's (device, ts) keys make a doubled write harmless.
 *
 * A worker that can reach Redis but no broker would renew leases of partitions it cannot read, stalling them until
 * its broker returns. So when it will have been without a broker for a TTL by the next round, a round hands every
 * partition back and moves the worker's heartbeat out of the live set, into a standby set (its spool is still its
 * own: `liveWorkers` counts both). The others, counting one worker fewer at their next round, take its partitions:
 * at most a TTL and a round after the broker went. Once it has a broker again (its link probe connected) the next
 * round is an ordinary one and it is handed its share back.
 */

export interface PartitionLeaseOptions {
  redisUrl: string
  partitions: number
  /** Lease and heartbeat lifetime, ms; renewed every ttlMs / 3. */
  ttlMs: number
  /** Name in logs and lease values; made unique per process with a random suffix. */
  workerId: string
  /** Redis key prefix. Default `mytho:ingest`. */
  keyPrefix?: string
  /** Since when (ms epoch) this worker has had no broker connection; undefined while it has one. Default: always connected. */
  brokerDownSince?: () => number | undefined
}

export interface PartitionLeaseHooks {
  /** The lease is ours: open the partition's session. */
  acquired(index: number): void
  /** The lease is no longer ours (or may not be): close the session now, without waiting. */
  lost(index: number): void
  /** Above our share: stop reading, store and acknowledge what is in flight, disconnect; resolves when done. */
  release(index: number): Promise<void>
}

export class PartitionLeaseError extends Error {
  override name = 'PartitionLeaseError'
}

// Renew or delete only a lease that is still ours (compare-and-set, atomic in Redis).
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`

const redactRedisUrl = (url: string): string => url.replace(/\/\/([^@/]*)@/, '//***@')

export function createPartitionLeases(opts: PartitionLeaseOptions, hooks: PartitionLeaseHooks, logger: Logger) {
  const P = opts.partitions
  const ttl = opts.ttlMs
  const tickMs = Math.max(100, Math.floor(ttl / 3))
  const prefix = `${opts.keyPrefix ?? 'mytho:ingest'}:p${P}`
  const workersKey = `${prefix}:workers`
  const standbyKey = `${prefix}:standby`
  const leaseKey = (i: number) => `${prefix}:lease:${i}`
  const token = `${opts.workerId}#${randomUUID().slice(0, 8)}`
  const where = redactRedisUrl(opts.redisUrl)
  // Where this worker starts looking for free partitions: workers starting together spread out.
  const offset = fnv1a32(token) % P

  const redis = new Redis(opts.redisUrl, {
    connectionName: `mytho-ingest-${opts.workerId}`,
    lazyConnect: true,
    // A command that cannot answer within a tick is a failed renewal, not one that waits for Redis to come back.
    commandTimeout: tickMs,
    maxRetriesPerRequest: 1,
  })
  redis.on('error', (err: Error) => logger.warn('redis connection error', { redis: where, err: err.message }))

  /** Partition → local time until which its lease is surely ours. */
  const owned = new Map<number, number>()
  const releasing = new Set<number>()
  let timer: NodeJS.Timeout | undefined
  let ticking: Promise<void> | undefined
  let stopped = false
  let acquiring = true
  const state = { live: 0, share: 0 }
  let lastLogged = ''
  let standingBy = false

  const drop = (i: number, why: string) => {
    if (!owned.delete(i)) return
    releasing.delete(i)
    logger.warn('partition lease lost; closing its session', { partition: i, why })
    hooks.lost(i)
  }

  const releaseOne = (i: number) => {
    releasing.add(i)
    hooks
      .release(i)
      .catch((err: unknown) => logger.error('partition release failed', { partition: i, err }))
      .then(() => (owned.has(i) ? redis.eval(RELEASE, 1, leaseKey(i), token) : undefined))
      .catch((err: unknown) => logger.warn('partition lease delete failed; it expires by itself', { partition: i, err: (err as Error).message }))
      .finally(() => {
        owned.delete(i)
        releasing.delete(i)
        logger.info('partition handed back', { partition: i })
      })
  }

  /** Without a broker: hand back what we hold, leave the live set (others' shares grow), renew nothing. */
  async function standBy(t0: number, down: number): Promise<void> {
    if (!standingBy) logger.warn('no broker reachable for the lease TTL; handing partitions back', { worker: token, downMs: t0 - down })
    standingBy = true
    await redis.zadd(standbyKey, t0 + ttl, token)
    await redis.zrem(workersKey, token)
    await redis.zremrangebyscore(standbyKey, '-inf', t0)
    for (const i of owned.keys()) if (!releasing.has(i)) releaseOne(i)
  }

  async function tick(): Promise<void> {
    const t0 = Date.now()
    try {
      const down = opts.brokerDownSince?.()
      // `+ tickMs`: decided a round early, so the partitions move no later than a TTL (and the others' round) after.
      if (down !== undefined && t0 + tickMs - down >= ttl) {
        await standBy(t0, down)
        return logOwned()
      }
      if (standingBy) {
        standingBy = false
        logger.info('broker reachable again; rejoining the partition leases', { worker: token })
        await redis.zrem(standbyKey, token)
      }
      await redis.zadd(workersKey, t0 + ttl, token)
      await redis.zremrangebyscore(workersKey, '-inf', t0)
      const live = Math.max(1, await redis.zcount(workersKey, t0, '+inf'))
      const share = Math.ceil(P / live)
      state.live = live
      state.share = share
      // Renew everything we hold, including what is being handed back (until it is deleted).
      const held = [...owned.keys()]
      const renewed = await Promise.all(held.map((i) => redis.eval(RENEW, 1, leaseKey(i), token, String(ttl)) as Promise<number>))
      held.forEach((i, k) => {
        if (renewed[k] !== 1) drop(i, 'another worker holds it')
        else if (owned.has(i)) owned.set(i, t0 + ttl) // (unless handed back meanwhile)
      })
      if (stopped) return
      const active = [...owned.keys()].filter((i) => !releasing.has(i)).sort((a, b) => b - a)
      for (let extra = active.length - share, k = 0; extra > 0; extra--, k++) releaseOne(active[k]!)
      let count = Math.min(active.length, share)
      for (let k = 0; acquiring && count < share && k < P; k++) {
        const i = (offset + k) % P
        if (owned.has(i)) continue
        if ((await redis.set(leaseKey(i), token, 'PX', ttl, 'NX')) !== 'OK') continue
        if (stopped || !acquiring) {
          await redis.eval(RELEASE, 1, leaseKey(i), token)
          break
        }
        owned.set(i, t0 + ttl)
        count++
        hooks.acquired(i)
      }
    } catch (err) {
      logger.warn('partition lease round failed', { redis: where, err: (err as Error).message })
      // Give up, before it can expire in Redis, any lease the next round may be too late to renew.
      const now = Date.now()
      for (const [i, until] of owned) if (now + tickMs + 50 >= until) drop(i, 'not renewed in time')
    }
    logOwned()
  }

  function logOwned(): void {
    const summary = JSON.stringify([...owned.keys()].sort((a, b) => a - b))
    if (summary !== lastLogged) {
      lastLogged = summary
      logger.info('partitions owned', { worker: token, owned: JSON.parse(summary) as number[], live: state.live, share: state.share })
    }
  }

  const loop = () => {
    if (stopped) return
    ticking = tick().finally(() => {
      ticking = undefined
      if (!stopped) timer = setTimeout(loop, tickMs)
    })
  }

  return {
    /** This process's name in Redis (`workerId#random`). */
    token,
    /** Whether the lease of partition `index` is surely still ours (renewed less than a TTL ago). */
    holds: (index: number): boolean => (owned.get(index) ?? 0) > Date.now(),
    /** Partitions whose lease this worker holds now (including those being handed back). */
    owned: () => [...owned.keys()].sort((a, b) => a - b),
    get live() {
      return state.live
    },
    /** Connects (fails fast naming REDIS_URL) and runs the first round: the partitions free now are ours when it resolves. */
    async start(): Promise<void> {
      try {
        await redis.connect()
      } catch (err) {
        redis.disconnect()
        throw new PartitionLeaseError(`REDIS_URL ${where}: cannot reach Redis: ${(err as Error).message}`, { cause: err })
      }
      ticking = tick()
      await ticking
      ticking = undefined
      timer = setTimeout(loop, tickMs)
    },
    /** Worker ids (INGEST_WORKER_ID) with a live heartbeat, this one included. */
    async liveWorkers(): Promise<Set<string>> {
      const now = Date.now()
      const members = [...(await redis.zrangebyscore(workersKey, now, '+inf')), ...(await redis.zrangebyscore(standbyKey, now, '+inf'))]
      return new Set(members.map((m) => m.slice(0, m.lastIndexOf('#'))))
    },
    /** A lock of this worker's (SET NX PX), e.g. over a dead worker's spool while it is drained; true when taken or renewed. */
    async lock(name: string, ms: number): Promise<boolean> {
      const key = `${prefix}:lock:${name}`
      if ((await redis.eval(RENEW, 1, key, token, String(ms))) === 1) return true
      return (await redis.set(key, token, 'PX', ms, 'NX')) === 'OK'
    },
    async unlock(name: string): Promise<void> {
      await redis.eval(RELEASE, 1, `${prefix}:lock:${name}`, token)
    },
    /** Takes no new partitions (leases held are still renewed): the worker is stopping. */
    stopAcquiring(): void {
      acquiring = false
    },
    /** Stops renewing, deletes the leases still ours and the heartbeat (the others take over at their next round). Safe twice. */
    async stop(): Promise<void> {
      if (stopped) return
      stopped = true
      acquiring = false
      clearTimeout(timer)
      await ticking
      if (redis.status === 'ready') {
        try {
          await Promise.all([...owned.keys()].map((i) => redis.eval(RELEASE, 1, leaseKey(i), token)))
          await redis.zrem(workersKey, token)
          await redis.zrem(standbyKey, token)
        } catch (err) {
          logger.warn('partition leases not deleted; they expire by themselves', { err: (err as Error).message })
        }
      }
      owned.clear()
      await redis.quit().catch(() => redis.disconnect())
    },
  }
}
export type PartitionLeases = ReturnType<typeof createPartitionLeases>
