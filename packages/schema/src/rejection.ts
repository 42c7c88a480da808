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
  /**
   * The store's name for a kept dead letter (absent before it is stored), what a re-drive answers with. SQLite's is
   * the row's; InfluxDB's names the (ms, reason, device) slot, which letters of one message can share.
   */
  id: z.string().optional(),
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

/** Dead-letter counts by reason over [from, to), of one device when `deviceId` is given. */
export const DeadLetterCountQuery = z.object({
  deviceId: z.string().optional(),
  from: z.number().int().optional(),
  to: z.number().int().optional(),
})
export type DeadLetterCountQuery = z.input<typeof DeadLetterCountQuery>

/** Windows of the counts over time: a clock hour, or a local day (from midnight UTC+7). */
export const deadLetterBuckets = ['hour', 'day'] as const
export const DeadLetterBucket = z.enum(deadLetterBuckets)
export type DeadLetterBucket = z.infer<typeof DeadLetterBucket>

/** One window's count of one reason; `start` labels the window (UTC ms). Empty windows are left out. */
export const DeadLetterBucketCount = z.object({ start: z.number().int(), code: RejectReason, count: z.number().int() })
export type DeadLetterBucketCount = z.infer<typeof DeadLetterBucketCount>

const epochMsQuery = z.coerce.number().int().min(0)

/** GET /dead-letters/counts: without `bucket` the totals by reason, with it the windows (from and to then needed). */
export const DeadLetterCountParams = z
  .object({
    deviceId: z.string().optional(),
    from: epochMsQuery.optional().describe('receivedAt from, inclusive, UTC ms'),
    to: epochMsQuery.optional().describe('receivedAt to, exclusive, UTC ms'),
    bucket: DeadLetterBucket.optional().describe('hour or day (local day, UTC+7): counts per window instead of totals'),
  })
  .refine((q) => q.bucket === undefined || (q.from !== undefined && q.to !== undefined), { message: 'bucket needs from and to', path: ['bucket'] })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, { message: 'from must be before to', path: ['from'] })
  .refine((q) => q.bucket !== 'hour' || q.from === undefined || q.to === undefined || q.to - q.from <= 31 * 24 * 3600_000, {
    message: 'hourly counts cover at most 31 days; use bucket=day',
    path: ['bucket'],
  })

/** The most dead letters one re-drive takes. */
export const REDRIVE_MAX = 1000

/** POST /dead-letters/redrive: a device's `unknown_device` letters (all, or those of `ids`) through validation again. */
export const RedriveRequest = z.strictObject({
  deviceId: z.string().min(1).max(64),
  ids: z.array(z.string().min(1).max(100)).min(1).max(REDRIVE_MAX).optional(),
})
export type RedriveRequest = z.infer<typeof RedriveRequest>

export const RedriveResult = z.object({
  /** Dead letters taken off the list: every reading in them now stored. */
  redriven: z.number().int(),
  /** Readings written (the store keeps one per device and ts, so one stored before is not stored twice). */
  stored: z.number().int(),
  /** Letters that still fail, with today's reason; they stay dead letters. */
  stillRejected: z.array(z.object({ id: z.string(), reason: RejectReason, message: z.string() })),
})
export type RedriveResult = z.infer<typeof RedriveResult>

/** GET /dead-letters/redrive?deviceId=: whether a re-drive of that device can store anything now. */
export const RedriveStatusParams = z.object({ deviceId: z.string().min(1).max(64) })
export const RedriveStatus = z.object({
  deviceId: z.string(),
  /** In the registry now (provisioned since the start included). */
  registered: z.boolean(),
  disabled: z.boolean(),
  /** Its unknown_device dead letters kept. */
  pending: z.number().int(),
})
export type RedriveStatus = z.infer<typeof RedriveStatus>
