import { z } from 'zod'

/**
 * What the ingest announces about the pipeline on PLATFORM_HEALTH_TOPIC (retained, QoS 0), every few
 * seconds and at once when `status` changes; its Last Will publishes `status: "down"` there.
 *   ok        storage takes writes, nothing spooled
 *   degraded  storage is down or behind: accepted readings wait on the ingest's disk spool (safe, delayed on the map)
 *   blocked   the spool is full: the ingest stops acknowledging and reading, the broker holds the backlog
 *   down      the ingest is gone (its Last Will); nothing is being stored
 */
export const pipelineStatuses = ['ok', 'degraded', 'blocked', 'down'] as const
export const PipelineStatus = z.enum(pipelineStatuses)
export type PipelineStatus = z.infer<typeof PipelineStatus>

export const PipelineHealth = z.object({
  service: z.literal('ingest'),
  /** Client id of the announcing ingest (one per worker). */
  clientId: z.string(),
  status: PipelineStatus,
  /** When this message was made, epoch ms. */
  at: z.number().int(),
  /** When `status` last changed, epoch ms. */
  since: z.number().int(),
  storage: z.object({
    /** false from the first failed write until one succeeds. */
    up: z.boolean(),
    /** Retryable write failures since start. */
    writeErrors: z.number().int().min(0),
  }),
  spool: z.object({
    /** Readings + dead letters waiting on disk. */
    depth: z.number().int().min(0),
    /** Their capacity (INGEST_SPOOL_MAX_READINGS); 0 when the spool is off. */
    capacity: z.number().int().min(0),
    /** Receive time of the oldest unsent reading (epoch ms) and its age (ms); null when empty. */
    oldestReceivedAt: z.number().int().nullable(),
    oldestAgeMs: z.number().int().min(0).nullable(),
    /** true while full: acknowledgements are held. */
    full: z.boolean(),
  }),
  mqtt: z.object({
    connected: z.boolean(),
    /** Messages received, acknowledged, and received again marked DUP [MQTT-3.3.1-1], since start. */
    received: z.number().int().min(0),
    acked: z.number().int().min(0),
    redelivered: z.number().int().min(0),
    /** Received and not yet acknowledged. */
    inflight: z.number().int().min(0),
  }),
  /** Readings durably stored since start. */
  stored: z.number().int().min(0),
})
export type PipelineHealth = z.infer<typeof PipelineHealth>
