import type { Aedes } from 'aedes'
import type { Redis } from 'ioredis'
import type { Logger } from '@mytho/runtime'

/*
 * Patches for a broker cluster (cluster.ts) on aedes-persistence-redis and Aedes 1.2, each explained below:
 * - dropWillsLeftOnOtherNodes: deletes wills by aedes-persistence-redis's key layout (`will:<brokerId>:<clientId>`);
 * - coalesceAddSubscriptions: wraps the persistence's `addSubscriptions` (moscajs/aedes#569);
 * - restampForeignWills: wraps `Aedes.publish` for wills published on a dead node's behalf;
 * - removeOneQueueEntryPerAck: rewrites the persistence's `LREM outgoing:<clientId> 0` to count 1 on its Redis connection.
 * Written against the versions in aedes-version.test.ts; re-check them when they change.
 */

/**
 * A device whose node died reconnects to another node within seconds, but its Last Will is still stored
 * under the dead node's id (`will:<brokerId>:<clientId>` in aedes-persistence-redis), and Aedes publishes a
 * dead node's wills 3–4 heartbeats later: the device's retained status would turn `offline` while it is
 * online on the new node. Aedes's connect only deletes the will under its own node id, so when a client
 * connects here the copies under every other node this one has heard of are deleted too. A device that
 * stays away longer than that gets its will published as MQTT says [MQTT-3.1.2-8], by a surviving node.
 */
export function dropWillsLeftOnOtherNodes(aedes: Aedes, db: Redis, logger: Logger): void {
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
export function coalesceAddSubscriptions(persistence: Record<string, unknown>): void {
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
export function restampForeignWills(aedes: Aedes): void {
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
export function removeOneQueueEntryPerAck(db: Redis): void {
  const lrem = db.lrem.bind(db) as (...args: unknown[]) => Promise<number>
  ;(db as unknown as { lrem: (...args: unknown[]) => Promise<number> }).lrem = (key: unknown, count: unknown, ...rest: unknown[]) =>
    lrem(key, typeof key === 'string' && key.startsWith('outgoing:') && Number(count) === 0 ? 1 : count, ...rest)
}
