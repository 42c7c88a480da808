import { severities } from '@mytho/schema'
import { counterFrom, gaugeFrom, type HealthReport, Histogram, type Registry } from '@mytho/runtime'
import type { Ingest } from './ingest.ts'

/** Readings received, accepted, rejected by reason; batches; storage errors; spool; redeliveries; incidents. */
export function registerIngestMetrics(registry: Registry, ingest: Ingest): void {
  counterFrom(registry, 'mytho_ingest_messages_received_total', 'MQTT messages received on readings topics', () => ingest.counters.received)
  counterFrom(registry, 'mytho_ingest_readings_accepted_total', 'Readings that passed validation', () => ingest.counters.accepted)
  counterFrom(
    registry,
    'mytho_ingest_readings_rejected_total',
    'Readings or messages dead-lettered, by reason',
    () => ({ ...ingest.counters.rejectedByReason }) as Record<string, number>,
    'reason',
  )
  counterFrom(registry, 'mytho_ingest_readings_written_total', 'Readings durably written to storage', () => ingest.writer.written)
  counterFrom(registry, 'mytho_ingest_batches_total', 'Storage batches written', () => ingest.writer.batches)
  counterFrom(registry, 'mytho_ingest_storage_errors_total', 'Failed storage writes (retried or spooled)', () => ingest.writer.writeErrors)
  gaugeFrom(registry, 'mytho_ingest_last_batch_size', 'Readings in the last batch written', () => ingest.writer.lastBatchSize)
  // Write latency as a histogram (histogram_quantile over its buckets; _sum/_count give the mean), plus the slowest
  // write since start. Buckets from 2 ms (SQLite batches) to 10 s (InfluxDB under compaction, issue #8's soak).
  const writeSeconds = new Histogram({
    name: 'mytho_ingest_write_seconds',
    help: 'Duration of successful storage writes, seconds',
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })
  ingest.writer.writeObservers.push((s) => writeSeconds.observe(s))
  gaugeFrom(registry, 'mytho_ingest_write_seconds_max', 'Slowest successful storage write since start, seconds', () => ingest.writer.writeSecondsMax)
  counterFrom(registry, 'mytho_ingest_redeliveries_total', 'Messages the broker redelivered (DUP)', () => ingest.mqtt.redelivered)
  gaugeFrom(registry, 'mytho_ingest_unacked_messages', 'Messages received and not yet acknowledged', () => ingest.mqtt.received - ingest.mqtt.acked)
  gaugeFrom(registry, 'mytho_ingest_spool_depth', 'Readings waiting in the on-disk spool', () => ingest.healthNow().spool.depth)
  gaugeFrom(
    registry,
    'mytho_ingest_spool_oldest_age_seconds',
    'Age of the oldest unsent reading in the spool',
    () => (ingest.healthNow().spool.oldestAgeMs ?? 0) / 1000,
  )
  // With INGEST_PARTITIONS: how many partitions (persistent sessions) this worker holds the lease of.
  gaugeFrom(
    registry,
    'mytho_ingest_partitions_owned',
    'Ingest partitions this worker owns (INGEST_PARTITIONS > 0)',
    () => ingest.partitions?.owned().length ?? 0,
  )
  gaugeFrom(registry, 'mytho_ingest_storage_up', '1 while storage accepts writes', () => (ingest.healthNow().storage.up ? 1 : 0))
  gaugeFrom(
    registry,
    'mytho_incidents_active',
    'Active incidents (open, acknowledged, cleared), by severity',
    () => {
      const counts: Record<string, number> = Object.fromEntries(severities.map((s) => [s, 0]))
      for (const i of ingest.incidents?.list({ active: true, limit: 1000 }) ?? []) counts[i.severity] = (counts[i.severity] ?? 0) + 1
      return counts
    },
    'severity',
  )
  // What the operations room has not taken yet: Prometheus alerts when a critical one waits past its reminder.
  gaugeFrom(
    registry,
    'mytho_incidents_unacknowledged_oldest_seconds',
    'Age of the oldest unacknowledged active incident, by severity (0: none)',
    () => {
      const now = ingest.clock()
      const oldest: Record<string, number> = Object.fromEntries(severities.map((s) => [s, 0]))
      for (const i of ingest.incidents?.list({ active: true, limit: 1000 }) ?? [])
        if (i.acknowledgedAt === null) oldest[i.severity] = Math.max(oldest[i.severity] ?? 0, (now - i.raisedAt) / 1000)
      return oldest
    },
    'severity',
  )
}

/**
 * The ingest's GET /health (on METRICS_PORT, what compose's health check reads): ready while the pipeline is ok or
 * degraded (storage down but every accepted reading safe in the spool: restarting would not help), not when it is
 * blocked (spool full, acknowledgements held) or down (no broker); the body is the pipeline health the map shows.
 */
export function ingestHealthReport(ingest: Ingest): HealthReport {
  const health = ingest.healthNow()
  // storageStatus (retention and roll-ups asked but not set up) is reported beside it: a restart would not fix it.
  return {
    ready: ingest.connected && (health.status === 'ok' || health.status === 'degraded'),
    detail: { ...health, storageStatus: ingest.storageStatus() ?? null },
  }
}
