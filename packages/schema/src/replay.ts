import { z } from 'zod'
import { Incident } from './incidents.ts'
import { DeviceKind, Ward } from './kinds.ts'
import { deviceStatuses } from './lists.ts'

/*
 * City-wide replay (issue #21): the map at a past instant, and what changed in a window after it.
 *
 * The map already knows every device's place, kind and ward (the live snapshot), so a replay answer carries only what
 * moves: each device's reading as of the instant and the status the one judge gives it, and the incidents as they
 * stood. Devices are rows in the order of `ids`, like the live snapshot's columns, so 10,000 devices cost one string
 * array and small rows instead of 10,000 keyed objects.
 *
 * Resolution: a window of at most REPLAY_RAW_MAX_MS is answered from raw readings; longer ones from the 5-minute
 * roll-ups (value = the bucket's mean, status judged on the bucket's worst value in the rule's direction), so a jump
 * anywhere in 30 days costs one query.
 */

/** How far back replay reaches: the raw retention's 30 days. */
export const REPLAY_MAX_AGE_MS = 30 * 86_400_000
/** Longest window a changes request covers. */
export const REPLAY_WINDOW_MAX_MS = 24 * 3_600_000
/** Windows up to this long come from raw readings; longer ones from the 5-minute roll-ups. */
export const REPLAY_RAW_MAX_MS = 6 * 3_600_000
/** Play speeds the map offers (× real time). */
export const replaySpeeds = [1, 10, 60, 600, 3600] as const

export const ReplayResolution = z.enum(['raw', '5m'])
export type ReplayResolution = z.infer<typeof ReplayResolution>

/** Instant or bound: UTC ms, or an ISO 8601 time with its offset. */
const Instant = z.union([
  z.coerce.number().int().min(1_577_836_800_000).max(4_102_444_800_000),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
])

const csvList = <T extends z.ZodType<string, string>>(item: T) =>
  z
    .string()
    .transform((s) => s.split(',').filter(Boolean))
    .pipe(z.array(item).max(10))

/**
 * GET /api/v1/replay/state. `resolution` (optional, default `5m`): `raw` answers each device's newest reading at or
 * before `at`, as a raw window's frames show it; `5m` the 5-minute bucket containing `at` (or the last before it).
 */
export const ReplayStateParams = z.strictObject({
  at: Instant,
  kinds: csvList(DeviceKind).optional(),
  wards: csvList(Ward).optional(),
  resolution: ReplayResolution.optional(),
})
export type ReplayStateParams = z.infer<typeof ReplayStateParams>

/** GET /api/v1/replay/changes: [from, to), to − from ≤ REPLAY_WINDOW_MAX_MS. */
export const ReplayChangesParams = z
  .strictObject({
    from: Instant,
    to: Instant,
    kinds: csvList(DeviceKind).optional(),
    wards: csvList(Ward).optional(),
  })
  .refine((p) => p.to > p.from, { message: 'to must be after from', path: ['to'] })
  .refine((p) => p.to - p.from <= REPLAY_WINDOW_MAX_MS, { message: 'window longer than 24 h', path: ['to'] })
export type ReplayChangesParams = z.infer<typeof ReplayChangesParams>

export const ReplayStatus = z.enum(deviceStatuses)

/**
 * One device at one instant: [row in `ids`, status, reading time (UTC ms) or null, fields]. Status is the live
 * judge's on that reading, `offline` when the reading is older than the device's silence limit at the instant,
 * `never_seen` when nothing was stored before it (looked for a day back, or the device's silence limit if longer).
 * At 5m resolution the reading time is the bucket's start, fields its means, the status judged on its worst value
 * and silence counted from the bucket's end.
 */
export const ReplayRow = z.tuple([z.number().int().min(0), ReplayStatus, z.number().int().nullable(), z.record(z.string(), z.number()).nullable()])
export type ReplayRow = z.infer<typeof ReplayRow>

export const ReplayState = z.object({
  at: z.number().int(),
  resolution: ReplayResolution,
  /** Device ids; rows refer to them by index. */
  ids: z.array(z.string()),
  rows: z.array(ReplayRow),
  /** Incidents active at `at` (raised at or before it, not cleared by then), as they stood: events after `at` left out. */
  incidents: z.array(Incident),
})
export type ReplayState = z.infer<typeof ReplayState>

/** A change at time `t`: the rows whose reading or status changed then. */
export const ReplayFrame = z.object({ t: z.number().int(), rows: z.array(ReplayRow) })
export type ReplayFrame = z.infer<typeof ReplayFrame>

export const ReplayChanges = z.object({
  from: z.number().int(),
  to: z.number().int(),
  resolution: ReplayResolution,
  ids: z.array(z.string()),
  /** Oldest first. */
  frames: z.array(ReplayFrame),
  /** Every incident with an event in [from, to), with all its events up to `to` (the map applies each at its `at`). */
  incidents: z.array(Incident),
})
export type ReplayChanges = z.infer<typeof ReplayChanges>
