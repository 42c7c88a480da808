import { z } from 'zod'

/** Why ingest refused a message. A closed set: dashboards and counters key on it. */
export const rejectReasons = [
  'bad_topic',
  'oversized',
  /** The payload is not well-formed UTF-8 (JSON text must be); checked before it is parsed. */
  'not_utf8',
  'not_json',
  'non_finite',
  'invalid_reading',
  'out_of_range',
  'unknown_device',
  'kind_mismatch',
  'not_gateway',
  'future_timestamp',
  /** Storage refused the point itself (e.g. a field type conflict); retrying cannot help. */
  'storage_rejected',
] as const
export const RejectReason = z.enum(rejectReasons)
export type RejectReason = z.infer<typeof RejectReason>

/** The raw payload kept in a dead letter is cut to this many bytes so one bad device cannot fill the disk. */
export const DEAD_LETTER_RAW_MAX_BYTES = 4096

export const Rejection = z.object({
  code: RejectReason,
  /** Human-readable reason (prettified zod error or a sentence), shown to operators. */
  message: z.string(),
  /** zod issues as JSON-able objects, when the schema said no. */
  issues: z.array(z.unknown()).optional(),
  /** Payload as text (UTF-8, lossy), at most DEAD_LETTER_RAW_MAX_BYTES. */
  raw: z.string(),
  rawBytes: z.number().int(),
  topic: z.string(),
  deviceId: z.string().optional(),
  receivedAt: z.number().int(),
})
export type Rejection = z.infer<typeof Rejection>

export const DeadLetterQuery = z.object({
  deviceId: z.string().optional(),
  code: RejectReason.optional(),
  from: z.number().int().optional(),
  to: z.number().int().optional(),
  limit: z.number().int().min(1).max(1000).default(100),
})
export type DeadLetterQuery = z.input<typeof DeadLetterQuery>
