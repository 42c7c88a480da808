import { z } from 'zod'
import { DeviceKind, Ward } from './kinds.ts'
import { severities, severityRank } from './lists.ts'

export { severities, severityRank }
export const Severity = z.enum(severities)
export type Severity = z.infer<typeof Severity>

/**
 * raised → acknowledged → cleared → closed. Clearing is automatic (condition ended, after the clear hold);
 * an incident closes once it is both cleared and acknowledged, so nobody loses sight of an alarm that
 * came and went while the room was busy.
 */
export const incidentStates = ['open', 'acknowledged', 'cleared', 'closed'] as const
export const IncidentState = z.enum(incidentStates)
export type IncidentState = z.infer<typeof IncidentState>

export const LocalizedText = z.object({ vi: z.string(), en: z.string() })
export type LocalizedText = z.infer<typeof LocalizedText>

export const IncidentEvent = z.object({
  at: z.number().int(),
  type: z.enum(['raised', 'escalated', 'deescalated', 'acknowledged', 'cleared', 'closed', 'reminded', 'reopened']),
  level: z.number().int().min(0),
  value: z.number().nullable(),
  /** Who: an operator's user name, or `anonymous@ADDRESS` for a caller without a session (actors.ts). */
  by: z.string().optional(),
  /** The name an anonymous acknowledger gave in `by`: unchecked text, never an operator's identity. */
  claimedBy: z.string().optional(),
  note: z.string().optional(),
})
export type IncidentEvent = z.infer<typeof IncidentEvent>

export const Incident = z.object({
  id: z.string(),
  ruleId: z.string(),
  /** What the incident is about: a device id, or a road segment for traffic rules grouped by road. */
  subject: z.string(),
  subjectType: z.enum(['device', 'road']),
  deviceIds: z.array(z.string()),
  kind: DeviceKind.nullable(),
  /** Current level within the rule (e.g. 1..3 for BĐ I..III); 0 once cleared. */
  level: z.number().int().min(0),
  peakLevel: z.number().int().min(1),
  severity: Severity,
  title: LocalizedText,
  state: IncidentState,
  metric: z.string().nullable(),
  lastValue: z.number().nullable(),
  peakValue: z.number().nullable(),
  /** The ward (registry `ward`) of the incident's device, a road's first device; null for incidents stored before wards were kept. */
  ward: z.string().nullable(),
  /** What the operator should do at the current level (the rule level's `action`); null when the rule gives none. */
  action: LocalizedText.nullable(),
  raisedAt: z.number().int(),
  updatedAt: z.number().int(),
  acknowledgedAt: z.number().int().nullable(),
  /** As the acknowledged event's `by`; an anonymous acknowledgement's claimed name is in that event. */
  acknowledgedBy: z.string().nullable(),
  ackNote: z.string().nullable(),
  clearedAt: z.number().int().nullable(),
  closedAt: z.number().int().nullable(),
  events: z.array(IncidentEvent),
})
export type Incident = z.infer<typeof Incident>

/**
 * POST /api/v1/incidents/{id}/acknowledge body. The signed-in operator sends only a note. An anonymous caller
 * (AUTH_DISABLED, or no sign-in configured) gives a name in `by`: recorded as what they claim (`claimedBy`), never
 * as who acted, which is anonymous@ADDRESS (issue #15); the API answers 400 when it is missing then.
 */
export const AcknowledgeRequest = z.strictObject({
  /** Without a session: the name the caller gives, recorded as the event's `claimedBy` (the actor is anonymous@ADDRESS). */
  by: z.string().min(1).max(100).optional(),
  note: z.string().max(2000).optional(),
})
export type AcknowledgeRequest = z.infer<typeof AcknowledgeRequest>

/** Incidents one bulk acknowledge may name (a whole flood of one rule is acknowledged by `ruleId` instead). */
export const BULK_ACKNOWLEDGE_MAX = 500

/**
 * POST /api/v1/incidents/acknowledge body: several incidents acknowledged with one note, either those named in `ids`
 * or every unacknowledged incident (open or cleared) of the rule `ruleId`; exactly one of the two. `by` as in
 * AcknowledgeRequest.
 */
export const BulkAcknowledgeRequest = z
  .strictObject({
    ids: z.array(z.string().min(1).max(64)).min(1).max(BULK_ACKNOWLEDGE_MAX).optional(),
    ruleId: z.string().min(1).max(64).optional(),
    note: z.string().max(2000).optional(),
    by: z.string().min(1).max(100).optional(),
  })
  .superRefine((b, ctx) => {
    if ((b.ids === undefined) === (b.ruleId === undefined))
      ctx.addIssue({ code: 'custom', path: [b.ids === undefined ? 'ids' : 'ruleId'], message: 'give exactly one of ids or ruleId' })
  })
export type BulkAcknowledgeRequest = z.infer<typeof BulkAcknowledgeRequest>

/** The answer: what was acknowledged now, and what was not with why (`not found`, `already acknowledged`). */
export const BulkAcknowledgeResult = z.object({
  acknowledged: z.array(Incident),
  skipped: z.array(z.object({ id: z.string(), reason: z.string() })),
})
export type BulkAcknowledgeResult = z.infer<typeof BulkAcknowledgeResult>

/** One change of an incident, as the ingest announces it and the map receives it. */
export const IncidentChange = z.object({ incident: Incident, event: IncidentEvent })
export type IncidentChange = z.infer<typeof IncidentChange>

/**
 * GET /api/v1/incidents (and /incidents/export.csv) query. `active=true` (default) lists open, acknowledged and cleared ones;
 * `active=false` every incident, closed ones too (the incident log). `from`/`to` (ms since epoch, UTC) bound when an
 * incident was raised, or with `range=active` when it was alive: raised before `to` and not closed before `from` (a shift
 * report's incidents include one raised before the shift that was still open in it). `ward` is the registry's ward id:
 * the incident's own ward, or for one stored before wards were kept, the ward of its devices.
 */
export const IncidentListParams = z
  .object({
    active: z
      .enum(['true', 'false'])
      .default('true')
      .transform((v) => v === 'true'),
    deviceId: z.string().max(64).optional(),
    ruleId: z.string().max(64).optional(),
    severity: Severity.optional(),
    state: IncidentState.optional(),
    ward: Ward.optional(),
    from: z.coerce.number().int().min(0).optional(),
    to: z.coerce.number().int().min(0).optional(),
    range: z.enum(['raised', 'active']).default('raised'),
    limit: z.coerce.number().int().min(1).max(1000).default(200),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, { path: ['to'], message: 'must be after from' })
export type IncidentListParams = z.infer<typeof IncidentListParams>
export const IncidentIdPath = z.object({ id: z.string().min(1).max(64) })

/**
 * A level of an alert rule as a line on a device's chart: the value where the rule's level begins for this device
 * (its own override or the rule's), from the rules the platform runs (built-in or ALERT_RULES_FILE).
 */
export const AlarmLine = z.object({
  metric: z.string(),
  value: z.number(),
  severity: Severity,
  /** The level's name, e.g. Báo động III. */
  name: LocalizedText,
  ruleId: z.string(),
})
export type AlarmLine = z.infer<typeof AlarmLine>
export const AlarmLinesResponse = z.object({ deviceId: z.string(), lines: z.array(AlarmLine) })
export type AlarmLinesResponse = z.infer<typeof AlarmLinesResponse>
