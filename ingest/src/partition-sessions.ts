import { randomBytes } from 'node:crypto'
import type { Logger } from '@mytho/runtime'
import { partitionClientId } from '@mytho/schema'
import { createMqttSession, type IncomingMessage, type MqttSession, type MqttSessionOptions } from './mqtt-session.ts'
import { createPartitionLeases } from './partition-leases.ts'

/*
 * The ingest's MQTT side when several workers share the stream (INGEST_PARTITIONS > 0, issue #10): one
 * persistent session per partition this worker holds the lease of, each with the partition's client id, so the
 * broker (broker/src/aedes-patches/ingest-partitions.ts) gives it only its partition's devices and keeps their queue while no
 * worker holds it. The sessions share the worker's batch writer, validation, spool, alerting and health; each
 * message is acknowledged on the connection that delivered it. To the ingest this looks like one session.
 *
 * Besides those, one link session per worker (clean, no subscriptions, its own client id) says whether a broker is
 * reachable even when the worker holds no partition: without any connection for a lease TTL the worker hands its
 * partitions to workers that have a broker, and rejoins once this link is up again (partition-leases.ts).
 */

/** What the ingest uses of its session: one MQTT session, or a worker's partition sessions together. */
export type IngestSession = Pick<MqttSession, 'stats' | 'connected' | 'inflight' | 'held' | 'start' | 'stop' | 'publish' | 'hold' | 'release' | 'pause'>

export interface PartitionSessionsOptions extends Omit<MqttSessionOptions, 'clientId' | 'will'> {
  /** Prefix of the partition sessions' client ids (INGEST_CLIENT_ID). */
  clientIdPrefix: string
  partitions: number
  redisUrl: string
  leaseTtlMs: number
  workerId: string
}

type Stats = MqttSession['stats']
const statNames = ['connects', 'disconnects', 'received', 'acked', 'redelivered'] as const

export function createPartitionSessions(
  opts: PartitionSessionsOptions,
  onMessage: (msg: IncomingMessage) => void,
  logger: Logger,
  deps: {
    /** Stores and acknowledges what the worker holds (the batch writer's flush). */
    flush(): Promise<void>
    /** A partition taken, handed back (after its messages are stored, before its session closes) or lost. */
    onPartition?: (index: number, event: 'acquired' | 'released' | 'lost') => void
  },
) {
  const sessions = new Map<number, MqttSession>()
  const handingBack = new Set<number>()
  // Counters of sessions already closed, so the totals never go back.
  const retired: Stats = { connects: 0, disconnects: 0, received: 0, acked: 0, redelivered: 0 }
  let held = false
  let paused = false
  // Each session gets its part of the worker's in-flight budget: a worker holding every partition holds as much as one session did.
  const maxInflight = Math.max(1, Math.ceil((opts.maxInflight ?? 50_000) / opts.partitions))
  const bounded = (p: Promise<unknown>, ms: number) => Promise.race([p, new Promise((r) => setTimeout(r, ms).unref())])

  // Sessions closed on purpose: one handed back or lost before it first subscribed is not a failed start.
  const retiring = new WeakSet<MqttSession>()
  const retire = async (i: number, s: MqttSession) => {
    retiring.add(s)
    await s.stop()
    if (sessions.get(i) === s) sessions.delete(i)
    for (const k of statNames) retired[k] += s.stats[k]
  }

  /** First connection of each session opened at start, awaited by start(). */
  const starting: Promise<void>[] = []
  let started = false

  const link = createMqttSession(
    { ...opts, clientId: `${opts.clientIdPrefix}-link-${randomBytes(4).toString('hex')}`, clean: true, subscriptions: [] },
    () => {},
    logger.child({ part: 'link' }),
  )
  /**
   * Since when this worker has had no broker; undefined while a session is connected. The link's clock, since it
   * loses its broker when the partitions' sessions do (the same addresses, tried in the same order): a partition
   * session just opened must not count as a connection that ended, or each one taken would put the give-up off.
   */
  const brokerDownSince = (): number | undefined => {
    for (const s of sessions.values()) if (s.connected) return undefined
    return link.downSince
  }

  const leases = createPartitionLeases(
    { redisUrl: opts.redisUrl, partitions: opts.partitions, ttlMs: opts.leaseTtlMs, workerId: opts.workerId, brokerDownSince },
    {
      acquired(i) {
        const clientId = partitionClientId(opts.clientIdPrefix, i, opts.partitions)
        const s = createMqttSession({ ...opts, clientId, maxInflight, mayReconnect: () => leases.holds(i) }, onMessage, logger.child({ partition: i }))
        sessions.set(i, s)
        deps.onPartition?.(i, 'acquired')
        if (held || paused) s.hold()
        const ready = s.start().catch((err: unknown) => {
          if (retiring.has(s)) return
          throw err
        })
        if (!started) starting.push(ready)
        ready.catch((err: unknown) => logger.error('partition session failed to start', { partition: i, err: (err as Error).message }))
      },
      lost(i) {
        const s = sessions.get(i)
        if (s) void retire(i, s)
        deps.onPartition?.(i, 'lost')
      },
      async release(i) {
        const s = sessions.get(i)
        if (!s) return
        handingBack.add(i)
        s.hold() // no new messages; what is in flight is stored and acknowledged below
        // Bounded: with storage down and no spool the broker keeps the rest, redelivered to the next owner.
        await bounded(deps.flush(), Math.max(1000, opts.leaseTtlMs / 2))
        deps.onPartition?.(i, 'released')
        await retire(i, s)
        handingBack.delete(i)
      },
    },
    logger,
  )

  const sum = (k: (typeof statNames)[number]) => {
    let n = retired[k]
    for (const s of sessions.values()) n += s.stats[k]
    return n
  }
  const stats: Stats = Object.defineProperties({} as Stats, Object.fromEntries(statNames.map((k) => [k, { get: () => sum(k), enumerable: true }])))

  return {
    stats,
    leases,
    /** Partitions this worker owns now. */
    owned: () => leases.owned(),
    /** Whether this worker holds partition `index` now (a session open for it). */
    ownsPartition: (index: number) => sessions.has(index),
    /** True when every partition session this worker holds is connected (and so when it holds none). */
    get connected() {
      for (const s of sessions.values()) if (!s.connected) return false
      return true
    },
    get inflight() {
      let n = 0
      for (const s of sessions.values()) n += s.inflight
      return n
    },
    get held() {
      return held
    },
    /** Joins the partition leases; resolves once the sessions of the partitions taken in the first round are subscribed. */
    async start(): Promise<void> {
      // Not awaited: the partitions' first sessions are; the link only has to be trying.
      link.start().catch(() => {})
      await leases.start()
      started = true
      await Promise.all(starting.splice(0))
    },
    /** Fire-and-forget QoS 0 publish on any connected session of this worker; false when none is. */
    publish(topic: string, payload: Buffer | string, retain = false): boolean {
      for (const s of sessions.values()) if (s.connected && s.publish(topic, payload, retain)) return true
      return false
    },
    hold(): void {
      held = true
      for (const s of sessions.values()) s.hold()
    },
    release(): void {
      held = false
      if (paused) return
      for (const [i, s] of sessions) if (!handingBack.has(i)) s.release()
    },
    /** Stops reading and taking partitions (graceful stop: the ingest then flushes and calls stop()). */
    pause(): void {
      paused = true
      leases.stopAcquiring()
      for (const s of sessions.values()) s.hold()
    },
    /** Disconnects every session, then deletes this worker's leases and heartbeat so the others take over at once. */
    async stop(): Promise<void> {
      paused = true
      leases.stopAcquiring()
      await Promise.all([...sessions].map(([i, s]) => retire(i, s)))
      await leases.stop()
      await link.stop()
    },
  }
}
export type PartitionSessions = ReturnType<typeof createPartitionSessions>
