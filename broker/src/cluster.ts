import { Readable } from 'node:stream'
import type { EventEmitter } from 'node:events'
import type { Aedes } from 'aedes'
import { Redis } from 'ioredis'
import mqemitterRedis from 'mqemitter-redis'
// @ts-expect-error aedes-persistence-redis ships no types; it returns an aedes-persistence (types in aedes-persistence).
import redisPersistence from 'aedes-persistence-redis'
import type { Logger } from '@mytho/runtime'
import { deliverInAnyOrder, type BrokerPersistence } from './persistence.ts'
import { pubackAfterPublish } from './puback-after-publish.ts'

/*
 * Several broker nodes as one broker, on Aedes's own clustering: mqemitter-redis carries every publish
 * (and Aedes's $SYS heartbeats, client take-overs and subscription changes) between the nodes over Redis
 * pub/sub, and aedes-persistence-redis 12 (aedes-persistence 11's async API, the one Aedes 1.x requires)
 * keeps sessions, subscriptions, QoS 1 queues, retained messages and wills in Redis. A device on node A
 * reaches a subscriber on node B; a persistent session resumes on whichever node it reconnects to.
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
  // mqemitter-redis reports connection errors on `state` (not in its types).
  ;(mq as unknown as { state: EventEmitter }).state.on('error', (err: Error) => logger.warn('redis emitter error', { redis: where, err: err.message }))
  const persistence = (redisPersistence as (o: unknown) => Record<string, unknown> & { destroy(): Promise<void> })({
    conn: db,
    // The default (1000) replays only the first 1,001 queued messages when a persistent session reconnects;
    // the rest would wait for the next reconnect. -1 = LRANGE 0 -1: the whole queue, as the memory and level stores do.
    maxSessionDelivery: -1,
  })

  coalesceAddSubscriptions(persistence)

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

/**
 * A device whose node died reconnects to another node within seconds, but its Last Will is still stored
 * under the dead node's id (`will:<brokerId>:<clientId>` in aedes-persistence-redis), and Aedes publishes a
 * dead node's wills 3–4 heartbeats later: the device's retained status would turn `offline` while it is
 * online on the new node. Aedes's connect only deletes the will under its own node id, so when a client
 * connects here the copies under every other node this one has heard of are deleted too. A device that
 * stays away longer than that gets its will published as MQTT says [MQTT-3.1.2-8], by a surviving node.
 */
function dropWillsLeftOnOtherNodes(aedes: Aedes, db: Redis, logger: Logger): void {
  const nodes = new Set<string>()
  const heard = (packet: { payload: Buffer | string }, done: () => void) => {
    nodes.add(packet.payload.toString())
    done()
  }
  aedes.subscribe('$SYS/+/heartbeat', heard, () => {})
  aedes.subscribe('$SYS/+/birth', heard, () => {})
  aedes.on('client', (client) => {
    const others = [...nodes].filter((id) => id !== aedes.id)
    if (others.length === 0 || !client.id) return
    const tx = db.multi()
    for (const node of others) {
      const key = `will:${node}:${encodeURIComponent(client.id)}`
      tx.lrem('will', 0, key).del(key)
    }
    tx.exec().catch((err: Error) => logger.warn('could not drop a will left on another node', { clientId: client.id, err: err.message }))
  })
}

/**
 * Aedes 1.2 stores a SUBSCRIBE's subscriptions once per topic in it, each time passing the whole list
 * (`addSubscriptions(client, packet.subscriptions)` in storeSubscriptions, aedes/lib/handlers/subscribe.js;
 * moscajs/aedes#458). aedes-persistence 11's BroadcastPersistence, which aedes-persistence-redis uses to tell
 * every node about a subscription, then waits for its own broadcast back under one key per (client, first
 * topic): the concurrent calls overwrite each other's waiter, one never resolves, and a persistent client
 * subscribing to two topics in one SUBSCRIBE never gets its SUBACK (moscajs/aedes#569). The in-memory and
 * LevelDB stores do not broadcast, so only the cluster hangs. Calls with the same list share one store.
 */
function coalesceAddSubscriptions(persistence: Record<string, unknown>): void {
  type Add = (client: unknown, subs: object, cb?: (err?: Error | null) => void) => Promise<unknown> | undefined
  const add = (persistence['addSubscriptions'] as Add).bind(persistence)
  const pending = new WeakMap<object, Promise<unknown>>()
  persistence['addSubscriptions'] = ((client, subs, cb) => {
    if (cb) return add(client, subs, cb)
    let stored = pending.get(subs)
    if (!stored) pending.set(subs, (stored = add(client, subs)!))
    return stored
  }) satisfies Add
}

/**
 * A dead node's Last Will is published by a surviving node with the dead node's `brokerId` still on it
 * (aedes-persistence-redis stores it with the will) but a counter from the surviving node (aedes-packet
 * keeps a brokerId it is given and numbers the packet only when the counter is missing). That (brokerId,
 * counter) pair can name a real packet of the dead node: the copy is then dropped as a duplicate by a
 * client that already received that packet (the ingest, which received everything), and its queue entry
 * `packet:<brokerId>:<counter>` in Redis overwrites the reading queued under that key. A packet with a
 * foreign brokerId and no counter is exactly such a will: it is published as this node's own packet.
 */
function restampForeignWills(aedes: Aedes): void {
  const publish = aedes.publish.bind(aedes)
  aedes.publish = ((packet: { brokerId?: string; brokerCounter?: number }, ...rest: unknown[]) => {
    if (packet.brokerId !== undefined && packet.brokerId !== aedes.id && !packet.brokerCounter) {
      const { brokerId: _dead, ...own } = packet
      return (publish as (...a: unknown[]) => void)(own, ...rest)
    }
    return (publish as (...a: unknown[]) => void)(packet, ...rest)
  }) as Aedes['publish']
}

/**
 * aedes-persistence-redis removes an acknowledged message from the subscriber's queue list with
 * `LREM outgoing:<clientId> 0 <packet key>`: count 0 removes every copy, so Redis scans the whole list on
 * every PUBACK. With the ingest's backlog in that list the drain is quadratic: 20,000 queued messages cost
 * 106 µs of Redis per acknowledgement (2.1 s in all) and 50,000 took 22.7 s to deliver after a reconnect.
 * Acknowledgements come in about queue order, so count 1 (the first copy from the head) stops near the head.
 * A list holds one copy per matching subscription and the packet's reference count counts them, so removing
 * one copy per acknowledgement keeps list and count in step (count 0 left the count above zero and the
 * packet in Redis for good when two of a client's filters matched). Only on this connection, our own.
 */
function removeOneQueueEntryPerAck(db: Redis): void {
  const lrem = db.lrem.bind(db) as (...args: unknown[]) => Promise<number>
  ;(db as unknown as { lrem: (...args: unknown[]) => Promise<number> }).lrem = (key: unknown, count: unknown, ...rest: unknown[]) =>
    lrem(key, typeof key === 'string' && key.startsWith('outgoing:') && Number(count) === 0 ? 1 : count, ...rest)
}
