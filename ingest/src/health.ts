import type { PipelineHealth, PipelineStatus } from '@mytho/schema'
import type { BatchWriter } from './batch-writer.ts'
import type { MqttSession } from './mqtt-session.ts'
import type { Spool } from './spool.ts'

/** The ingest's view of the pipeline, as announced on PLATFORM_HEALTH_TOPIC (schema: PipelineHealth). */
export function createHealth(
  parts: {
    clientId: string
    writer: BatchWriter
    session: Pick<MqttSession, 'stats' | 'inflight' | 'connected'>
    spool: Spool | undefined
    spoolCapacity: number
  },
  clock: () => number,
) {
  let last: PipelineStatus | undefined
  let since = clock()
  const statusNow = (): PipelineStatus => {
    const w = parts.writer.stats
    if (w.spoolFull) return 'blocked'
    if (w.storageDown || (parts.spool?.items ?? 0) > 0) return 'degraded'
    return 'ok'
  }
  return {
    /** The current health; `changed` is true when status differs from the previous call's. */
    snapshot(): { health: PipelineHealth; changed: boolean } {
      const now = clock()
      const status = statusNow()
      const changed = status !== last
      if (changed) {
        last = status
        since = now
      }
      const { stats, inflight, connected } = parts.session
      const w = parts.writer.stats
      const oldest = parts.spool?.oldestReceivedAt
      return {
        changed,
        health: {
          service: 'ingest',
          clientId: parts.clientId,
          status,
          at: now,
          since,
          storage: { up: !w.storageDown, writeErrors: w.writeErrors },
          spool: {
            depth: parts.spool?.items ?? 0,
            capacity: parts.spoolCapacity,
            oldestReceivedAt: oldest ?? null,
            oldestAgeMs: oldest === undefined ? null : Math.max(0, now - oldest),
            full: w.spoolFull,
          },
          mqtt: { connected, received: stats.received, acked: stats.acked, redelivered: stats.redelivered, inflight },
          stored: w.written,
        },
      }
    },
  }
}

/** What the ingest's Last Will says on PLATFORM_HEALTH_TOPIC: the ingest is gone, nothing is being stored. */
export function downHealth(clientId: string, spoolCapacity: number, now: number): PipelineHealth {
  return {
    service: 'ingest',
    clientId,
    status: 'down',
    at: now,
    since: now,
    storage: { up: false, writeErrors: 0 },
    spool: { depth: 0, capacity: spoolCapacity, oldestReceivedAt: null, oldestAgeMs: null, full: false },
    mqtt: { connected: false, received: 0, acked: 0, redelivered: 0, inflight: 0 },
    stored: 0,
  }
}
