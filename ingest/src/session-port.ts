import { partitionOf } from '@mytho/schema'
import type { IngestSession, PartitionSessions } from './partition-sessions.ts'

/*
 * The ingest's one cycle, kept in one place. Messages come in on the session, and what they produce goes out on
 * that same session: stored readings, incidents and health are published there, and a full spool holds it. The
 * session is built last, since it needs the message handler; the parts built before it (alerting, batch writer)
 * talk to this port, which createIngest attaches to the session before start(). Before that nothing is sent.
 */
export function sessionPort(partitions: number) {
  let session: IngestSession | undefined
  let partitioned: PartitionSessions | undefined
  let onBackpressure: (() => void) | undefined
  return {
    publish(topic: string, payload: string, retain = false): void {
      session?.publish(topic, payload, retain)
    },
    /** The batch writer's backpressure: a full spool stops reading, so unacknowledged messages stay with the broker. */
    backpressure(full: boolean): void {
      if (full) session?.hold()
      else session?.release()
      onBackpressure?.()
    },
    /** With INGEST_PARTITIONS > 0: whether this worker holds the lease of the device's partition now. */
    owns: (id: string): boolean => partitioned?.ownsPartition(partitionOf(id, partitions)) ?? false,
    /** The lease key as partition-leases.ts names it (README: mytho:ingest:pP:lease:N) and this worker's token. */
    fence: (id: string): { key: string; token: string } | undefined =>
      partitioned && { key: `mytho:ingest:p${partitions}:lease:${partitionOf(id, partitions)}`, token: partitioned.leases.token },
    attach(parts: { session: IngestSession; partitioned: PartitionSessions | undefined; onBackpressure: () => void }): void {
      ;({ session, partitioned, onBackpressure } = parts)
    },
  }
}
export type SessionPort = ReturnType<typeof sessionPort>
