import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { DeviceKind, LocalizedText, Severity } from '@mytho/schema'

/*
 * Alert rules, validated at start: a bad rule file stops the start with a message naming the rule and field.
 * Every level has its own set and clear threshold (hysteresis), and every rule hold times for raising and
 * clearing, so a gauge hovering at a line raises one incident, not a storm.
 */

const Metric = z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, 'a metric name such as waterLevelCm')

/** What the operator should do while a level holds, shown with the incident: both languages, neither empty. */
export const RuleAction = z.strictObject({ vi: z.string().trim().min(1).max(1000), en: z.string().trim().min(1).max(1000) })

export const RuleLevel = z.strictObject({
  /** 1 = lowest (BĐ I), higher = worse. */
  level: z.number().int().min(1).max(9),
  name: LocalizedText,
  severity: Severity,
  /** Value at which this level is entered. */
  set: z.number(),
  /** Value at which it is left again; on the safe side of `set` (below it for `above` rules). */
  clear: z.number(),
  /** Recommended action at this level (the city's plan); the incident carries it. */
  action: RuleAction.optional(),
})
export type RuleLevel = z.infer<typeof RuleLevel>

const common = {
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
  title: LocalizedText,
  /** Device kinds the rule watches. */
  kinds: z.array(DeviceKind).min(1),
  /** Only these devices, when given. */
  devices: z.array(z.string()).optional(),
  /** Seconds the condition must hold before an incident is raised or escalated. Default 0. */
  raiseHoldS: z.number().min(0).max(86_400).default(0),
  /** Seconds the condition must be gone before an incident is de-escalated or cleared. Default 0. */
  clearHoldS: z.number().min(0).max(86_400).default(0),
  /** Repeat the notification of an unacknowledged critical incident every this many seconds; 0 = never. Default 0. */
  reminderS: z.number().min(0).max(86_400).default(0),
  /**
   * Whether the rule colours the device's marker on the map. Default: yes when it watches a measurement, no when it
   * watches the device's own health (`batteryV`): a gauge with a weak battery is not a flood (device-judge.ts).
   */
  onMap: z.boolean().optional(),
}

export const ThresholdRule = z
  .strictObject({
    ...common,
    type: z.literal('threshold'),
    metric: Metric,
    direction: z.enum(['above', 'below']),
    levels: z.array(RuleLevel).min(1),
    /** Per-device levels (e.g. a station's own BĐ I/II/III), replacing `levels` for that device. */
    overrides: z.record(z.string(), z.strictObject({ levels: z.array(RuleLevel).min(1) })).optional(),
    /** Evaluate the mean of the last N seconds instead of each reading (24-h limits such as PM2.5). */
    meanOverS: z
      .number()
      .positive()
      .max(7 * 86_400)
      .optional(),
  })
  .superRefine((rule, ctx) => {
    const check = (levels: RuleLevel[], path: (string | number)[]) => {
      levels.forEach((l, i) => {
        const safe = rule.direction === 'above' ? l.clear <= l.set : l.clear >= l.set
        if (!safe)
          ctx.addIssue({
            code: 'custom',
            path: [...path, i, 'clear'],
            message: `clear must be ${rule.direction === 'above' ? '≤' : '≥'} set (${l.set}) for a rule that fires ${rule.direction}`,
          })
        if (l.level !== i + 1)
          ctx.addIssue({ code: 'custom', path: [...path, i, 'level'], message: `levels must be numbered 1, 2, 3… in order; expected ${i + 1}` })
        const prev = levels[i - 1]
        if (prev && (rule.direction === 'above' ? l.set <= prev.set : l.set >= prev.set))
          ctx.addIssue({ code: 'custom', path: [...path, i, 'set'], message: `each level must be worse than the one before (${rule.direction} ${prev.set})` })
      })
    }
    check(rule.levels, ['levels'])
    for (const [id, o] of Object.entries(rule.overrides ?? {})) check(o.levels, ['overrides', id, 'levels'])
  })

export const Condition = z
  .strictObject({ metric: Metric, op: z.enum(['above', 'below']), set: z.number(), clear: z.number() })
  .refine((c) => (c.op === 'above' ? c.clear <= c.set : c.clear >= c.set), { message: 'clear must be on the safe side of set', path: ['clear'] })

/** One level of a condition rule: entered when its conditions are met (`match`), each left at its own `clear`. */
export const ConditionLevel = z.strictObject({
  level: z.number().int().min(1).max(9),
  name: LocalizedText,
  severity: Severity,
  conditions: z.array(Condition).min(1),
  action: RuleAction.optional(),
})
export type ConditionLevel = z.infer<typeof ConditionLevel>

/**
 * Several metrics at once, e.g. congestion: speed below a limit and/or occupancy above one, in levels (slow traffic,
 * then a jam) like a threshold rule's. The single-level shape of rules files written before levels (`conditions`,
 * `severity`, `levelName` at the top) is still read, as one level.
 */
export const ConditionRule = z
  .strictObject({
    ...common,
    type: z.literal('condition'),
    levels: z.array(ConditionLevel).min(1).optional(),
    match: z.enum(['any', 'all']).default('any'),
    /** `road`: one incident per road segment, at the worst level any counter on it is at. */
    groupBy: z.enum(['device', 'road']).default('device'),
    /** The single-level shape: its conditions, severity, name and action. */
    conditions: z.array(Condition).min(1).optional(),
    severity: Severity.optional(),
    levelName: LocalizedText.optional(),
    action: RuleAction.optional(),
  })
  .superRefine((rule, ctx) => {
    const single = rule.conditions !== undefined || rule.severity !== undefined || rule.levelName !== undefined || rule.action !== undefined
    if (rule.levels && single)
      ctx.addIssue({ code: 'custom', path: ['levels'], message: 'give either levels or the single-level conditions, severity and levelName, not both' })
    if (!rule.levels) {
      for (const f of ['conditions', 'severity', 'levelName'] as const)
        if (rule[f] === undefined) ctx.addIssue({ code: 'custom', path: [f], message: `required without levels (or give levels)` })
      return
    }
    rule.levels.forEach((l, i) => {
      if (l.level !== i + 1)
        ctx.addIssue({ code: 'custom', path: ['levels', i, 'level'], message: `levels must be numbered 1, 2, 3… in order; expected ${i + 1}` })
    })
  })
  .transform(({ conditions, severity, levelName, action, levels, ...rest }) => ({
    ...rest,
    levels: levels ?? [{ level: 1, name: levelName!, severity: severity!, conditions: conditions!, ...(action ? { action } : {}) }],
  }))

/** No reading for a multiple of the device's own interval, or its Last Will says offline. */
export const SilentRule = z.strictObject({
  ...common,
  type: z.literal('silent'),
  intervalMultiple: z.number().min(1).max(1000).default(3),
  onLastWill: z.boolean().default(true),
  severity: Severity,
  /** Recommended action while the device is silent or disconnected. */
  action: RuleAction.optional(),
})

export const AlertRule = z.discriminatedUnion('type', [ThresholdRule, ConditionRule, SilentRule])
export type AlertRule = z.infer<typeof AlertRule>
export type ThresholdRuleT = z.infer<typeof ThresholdRule>
export type ConditionRuleT = z.infer<typeof ConditionRule>
export type SilentRuleT = z.infer<typeof SilentRule>

export const AlertRulesFile = z.strictObject({ rules: z.array(AlertRule) }).superRefine((f, ctx) => {
  const seen = new Set<string>()
  f.rules.forEach((r, i) => {
    if (seen.has(r.id)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: `duplicate rule id ${r.id}` })
    seen.add(r.id)
  })
})

export class AlertRulesError extends Error {
  override name = 'AlertRulesError'
}

/** Validates a rules document; the error names each bad rule by id and the field. */
export function parseAlertRules(json: unknown, source = 'alert rules'): AlertRule[] {
  const r = AlertRulesFile.safeParse(json)
  if (r.success) return r.data.rules
  const rules = (json as { rules?: { id?: unknown }[] } | null)?.rules
  const lines = r.error.issues.map((i) => {
    const [, idx, ...rest] = i.path
    const id = typeof idx === 'number' && rules?.[idx]?.id !== undefined ? `rule "${String(rules[idx]!.id)}"` : `rules[${String(idx)}]`
    return i.path[0] === 'rules' && idx !== undefined
      ? `  ${id} field ${rest.join('.') || '(rule)'}: ${i.message}`
      : `  ${i.path.join('.') || '(file)'}: ${i.message}`
  })
  throw new AlertRulesError(`${source} is invalid:\n${lines.join('\n')}`, { cause: r.error })
}

export function loadAlertRulesFile(path: string): AlertRule[] {
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new AlertRulesError(`cannot read alert rules ${path}: ${(err as Error).message}`, { cause: err })
  }
  return parseAlertRules(json, path)
}
