import { Readable } from 'node:stream'
import type { EventEmitter } from 'node:events'
import type { Aedes } from 'aedes'
import { Redis } from 'ioredis'
import mqemitterRedis from 'mqemitter-redis'
// @ts-expect-error aedes-persistence-redis ships no types; it returns an aedes-persistence (types in aedes-persistence).
import redisPersistence from 'aedes-persistence-redis'
import type { Logger } from '@mytho/runtime'
import { deliverInAnyOrder } from './aedes-patches/deliver-in-any-order.ts'
import type { BrokerPersistence } from './persistence.ts'
import { coalesceAddSubscriptions, dropWillsLeftOnOtherNodes, removeOneQueueEntryPerAck, restampForeignWills } from './aedes-patches/cluster-patches.ts'
import { pubackAfterPublish } from './aedes-patches/puback-after-publish.ts'
import { deliverLocallyFirst } from './aedes-patches/local-first-emitter.ts'
import { batchQueueSteps } from './aedes-patches/redis-outgoing.ts'

/*
 * Several broker nodes as one broker, on Aedes's own clustering: mqemitter-redis carries every publish
 * (and Aedes's $SYS heartbeats, client take-overs and subscription changes) between the nodes over Redis
 * pub/sub, and aedes-persistence-redis 12 (aedes-persistence 11's async API, the one Aedes 1.x requires)
 * keeps sessions, subscriptions, QoS 1 queues, retained messages and wills in Redis. A device on node A
 * reaches a subscriber on node B; a persistent session resumes on whichever node it reconnects to.
 * Issue #20 halved a node's CPU per message: a publish reaches this node's subscribers without the Redis round trip
 * (local-first-emitter.ts), and the queue's steps of one event-loop turn go to Redis as one Lua call (redis-outgoing.ts).
 *
 * A QoS 1 PUBACK goes out only after the packet is in every persistent subscriber's queue in Redis and
 * PUBLISHed to the other nodes (Aedes 1.2 acknowledges first: see puback-after-publish.ts), so a node
 * SIGKILLed after a PUBACK has lost nothing the ingest's queue needs: it is in Redis. How durable
 * Redis itself is (appendonly, fsync, replicas) is Redis's configuration: see docs/cluster.md.
 */

export class ClusterError extends Error {
  override name = 'ClusterError'
}

export interface ClusterOptions {
  /** `redis://[:password@]host:port[/db]` or `rediss://…` (TLS). */
  redisUrl: string
  /** Aedes heartbeat period, ms: a node silent for 3 periods is dead and its clients' Last Wills are published (checked every 4 periods). */
  heartbeatMs: number
  /** How long start waits for Redis to answer, ms. Default 10,000. */
  connectTimeoutMs?: number
}

export interface ClusterPersistence extends BrokerPersistence {
  /** Spread into Aedes.createBroker: the Redis emitter and persistence, and the heartbeat period. */
  readonly aedesOptions: NonNullable<BrokerPersistence['aedesOptions']>
}

/** The Redis URL with its password masked, for logs and errors. */
export const redactRedisUrl = (url: string): string => url.replace(/\/\/([^@/]*)@/, '//***@')

/**
 * Opens the Redis side of a broker node. Fails fast (ClusterError naming REDIS_URL) when Redis does not
 * answer: a node that waited forever would look started while it can deliver nothing.
 */
export async function openClusterPersistence(opts: ClusterOptions, deps: { logger: Logger }): Promise<ClusterPersistence> {
  const { logger } = deps
  const where = redactRedisUrl(opts.redisUrl)
  // One connection for the persistence, two for the emitter (a subscribed Redis connection can do nothing else).
  const connect = (name: string, extra: { enableAutoPipelining?: boolean } = {}) => {
    const conn = new Redis(opts.redisUrl, { connectionName: `mytho-broker-${name}`, lazyConnect: true, ...extra })
    // ioredis reconnects by itself; unheard, an 'error' event would end the process.
    conn.on('error', (err: Error) => logger.warn('redis connection error', { conn: name, redis: where, err: err.message }))
    return conn
  }
  // Auto-pipelining: the commands of one tick go out in one write (order kept): ~15 % less Redis CPU per message.
  const db = connect('persistence', { enableAutoPipelining: true })
  removeOneQueueEntryPerAck(db)
  const sub = connect('sub')
  const pub = connect('pub', { enableAutoPipelining: true })
  const connections = [db, sub, pub]
  try {
    const timeoutMs = opts.connectTimeoutMs ?? 10_000
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.all(connections.map((c) => c.connect())),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs))),
    ]).finally(() => clearTimeout(timer))
  } catch (err) {
    for (const c of connections) c.disconnect()
    throw new ClusterError(`REDIS_URL ${where}: cannot reach Redis: ${(err as Error).message}`, { cause: err })
  }

  const mq = mqemitterRedis({ subConn: sub, pubConn: pub, matchEmptyLevels: true }) // [MQTT-4.7.1-3], as Aedes's default emitter
  deliverLocallyFirst(mq)
  // mqemitter-redis reports connection errors on `state` (not in its types).
  ;(mq as unknown as { state: EventEmitter }).state.on('error', (err: Error) => logger.warn('redis emitter error', { redis: where, err: err.message }))
  const persistence = (redisPersistence as (o: unknown) => Record<string, unknown> & { destroy(): Promise<void> })({
    conn: db,
    // The default (1000) replays only the first 1,001 queued messages when a persistent session reconnects;
    // the rest would wait for the next reconnect. -1 = LRANGE 0 -1: the whole queue, as the memory and level stores do.
    maxSessionDelivery: -1,
  })

  coalesceAddSubscriptions(persistence)
  batchQueueSteps(persistence, db, logger)

  // After close, reads streamed from a closed connection would error out of a stream nobody listens to
  // (a client still subscribing while the node stops): they answer empty instead, as in persistence.ts.
  let closed: Promise<void> | undefined
  for (const name of ['createRetainedStream', 'createRetainedStreamCombi', 'outgoingStream', 'streamWill', 'getClientList']) {
    const original = persistence[name] as (...args: unknown[]) => Readable
    persistence[name] = (...args: unknown[]) => (closed ? Readable.from([]) : original.apply(persistence, args))
  }

  logger.info('broker cluster node on redis', { redis: where, heartbeatMs: opts.heartbeatMs })
  return {
    persistence,
    aedesOptions: { mq, persistence, heartbeatInterval: opts.heartbeatMs },
    attach(aedes: Aedes) {
      deliverInAnyOrder(aedes)
      dropWillsLeftOnOtherNodes(aedes, db, logger)
      restampForeignWills(aedes)
      pubackAfterPublish(aedes)
    },
    // After aedes.close(), which closed the emitter's two connections.
    close: () =>
      (closed ??= (async () => {
        try {
          await persistence.destroy()
        } catch (err) {
          logger.debug('redis persistence close', { err: (err as Error).message })
        }
        for (const c of connections) c.disconnect()
      })()),
  }
}
